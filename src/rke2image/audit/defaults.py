"""The kernel's own values for kubelet's parameters, when nothing sets them at boot.

They decide ``unpersisted``: a value right now that nothing persists is fine only if
the kernel starts with it. Upstream Linux defaults (a distro kernel may build others):

- vm.overcommit_memory 0: mm/util.c ``sysctl_overcommit_memory = OVERCOMMIT_GUESS``
- vm.panic_on_oom 0: mm/oom_kill.c ``sysctl_panic_on_oom``
- kernel.panic 0: kernel/panic.c ``panic_timeout = CONFIG_PANIC_TIMEOUT`` (default 0)
- kernel.panic_on_oops 0: ``CONFIG_PANIC_ON_OOPS_VALUE`` (default n)
- kernel.keys.root_maxkeys 1000000 and root_maxbytes 25000000: security/keys/key.c
  (since Linux 5.3; before that 200 and 20000)
"""

from __future__ import annotations

KERNEL_DEFAULTS: dict[str, str] = {
    "vm.overcommit_memory": "0",
    "vm.panic_on_oom": "0",
    "kernel.panic": "0",
    "kernel.panic_on_oops": "0",
    "kernel.keys.root_maxkeys": "1000000",
    "kernel.keys.root_maxbytes": "25000000",
}
