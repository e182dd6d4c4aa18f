# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out

.PHONY: demo test venv test-deps lint bench bake dist airgap clean

# A fresh venv with the project installed as a user gets it (not editable), so
# the demo and the tests see exactly what the wheel ships.
venv:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) 2>/dev/null \
		|| { rm -rf $(VENV); scripts/install-test-deps python3-venv && $(PYTHON) -m venv $(VENV); }
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --force-reinstall --no-deps .
	@$(BIN)/python -m pip install --quiet '.[test]'

demo: venv
	$(BIN)/rke2image validate examples/node.yaml examples/cluster.yaml examples/flatcar.yaml examples/slemicro.yaml
	$(BIN)/rke2image render examples/cluster.yaml -o $(OUT)/cluster
	$(BIN)/rke2image render examples/node.yaml -o $(OUT)/node
	$(BIN)/rke2image render examples/flatcar.yaml examples/slemicro.yaml -o $(OUT)/targets
	@echo "user-data, rootfs/ and manifest.json per node are in $(OUT)/cluster/<node>/ and $(OUT)/node/cp-1/"
	@echo "ignition.json, combustion/script and eib/ are in $(OUT)/targets/flatcar-1/ and $(OUT)/targets/edge-1/"

test-deps:
	@scripts/install-test-deps

test: test-deps venv
	$(BIN)/python -m pytest -m ""

# Every check CI enforces, before the tests (.ci/run). The tools are pinned in
# the `dev` extra; shellcheck and packer come from scripts/install-test-deps.
SHELL_FILES = $(shell grep -rlIE '^\#!(/usr)?/bin/(env )?(ba|da)?sh' scripts templates packer tests/e2e/assets tests/lanes .ci deploy \
                | grep -v '/golden/' | grep -v '\.j2$$')

lint: test-deps venv
	@$(BIN)/python -m pip install --quiet '.[dev]'
	$(BIN)/ruff check src tests bench scripts deploy
	$(BIN)/ruff format --check src tests bench scripts deploy
	$(BIN)/mypy src tests scripts/dist.py deploy/image/airgap.py
	shellcheck $(SHELL_FILES)
	packer fmt -check packer && packer fmt -check packer/plugins && packer fmt -check tests/acceptance/build/fixtures/packer/null

# Build a real VM image locally (root on Debian/Ubuntu): the e2e base image,
# `rke2image build --only qemu`, and how to boot the result.
bake: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" tests/e2e/assets/bake-local.sh $(SPEC)

# dist/: the wheel, the sdist, rke2image-VERSION.pyz (runs audit, fleet and fix on any
# python3 >= 3.9 with nothing installed) and SHA256SUMS; the same bytes from the same commit.
dist: venv
	$(BIN)/python scripts/dist.py --out dist

# dist/rke2image-images.linux-amd64.tar: the audit's image as an RKE2 air-gap image archive
# (root, mmdebstrap, Debian's mirror); copy it to /var/lib/rancher/rke2/agent/images/.
airgap: venv
	@mkdir -p dist
	$(BIN)/python deploy/image/airgap.py "$$(PYTHON=$(BIN)/python deploy/image/build.sh)" \
		dist/rke2image-images.linux-amd64.tar --tag "rke2image:$$($(BIN)/rke2image --version | cut -d' ' -f2)"

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(OUT) build dist
