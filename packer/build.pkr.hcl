# One build for every builder: upload the rendered rootfs, install RKE2 if the
# base lacks it, install the rootfs with its owners and modes, apply it, prove it
# with the preflight in enforce mode (a non-compliant image fails here), then
# strip per-machine state.

locals {
  # Where the upload lands in the image; clean-machine-state.sh removes it.
  staging = "/tmp/rke2image"
  # Each script re-runs itself through sudo when the SSH user is not root.
  execute_command = "chmod +x {{ .Path }}; {{ .Vars }} {{ .Path }}"
}

build {
  sources = [
    "source.qemu.rke2image",
    "source.amazon-ebs.rke2image",
    "source.azure-arm.rke2image",
    "source.googlecompute.rke2image",
    "source.vsphere-iso.rke2image",
  ]

  provisioner "shell" {
    inline = ["rm -rf ${local.staging} && mkdir -p ${local.staging}/rootfs"]
  }

  # The trailing slash uploads the folder's contents, not the folder.
  provisioner "file" {
    source      = "${var.rootfs_dir}/"
    destination = "${local.staging}/rootfs"
  }

  provisioner "file" {
    source      = var.install_list
    destination = "${local.staging}/install.list"
  }

  provisioner "shell" {
    execute_command = local.execute_command
    environment_vars = [
      "RKE2IMAGE_RKE2_VERSION=${var.rke2_version}",
      "RKE2IMAGE_RKE2_TYPE=${var.rke2_type}",
      "RKE2IMAGE_RKE2_BINARIES=${join(" ", var.rke2_binaries)}",
      "RKE2IMAGE_RKE2_INSTALLER=${var.rke2_installer_url}",
    ]
    script = "${path.root}/scripts/install-rke2.sh"
  }

  provisioner "shell" {
    execute_command = local.execute_command
    environment_vars = [
      "RKE2IMAGE_STAGING=${local.staging}",
      "RKE2IMAGE_ETCD_USER=${var.etcd_user}",
      "RKE2IMAGE_ETCD_USER_COMMENT=${var.etcd_user_comment}",
      "RKE2IMAGE_ETCD_USER_SHELL=${var.etcd_user_shell}",
      "RKE2IMAGE_SYSCTL_FILE=${var.sysctl_file}",
      "RKE2IMAGE_MODULES_FILE=${var.modules_file}",
    ]
    scripts = [
      "${path.root}/scripts/install-rootfs.sh",
      "${path.root}/scripts/apply-kernel-settings.sh",
    ]
  }

  provisioner "shell" {
    execute_command = local.execute_command
    environment_vars = [
      "RKE2IMAGE_PREFLIGHT=${var.preflight_path}",
      "RKE2IMAGE_SYSCTL_FILE=${var.sysctl_file}",
      "RKE2IMAGE_MODULES_FILE=${var.modules_file}",
      "RKE2IMAGE_ETCD_USER=${var.etcd_user}",
      "RKE2IMAGE_NO_SWAP=${var.preflight_no_swap ? "1" : "0"}",
      "RKE2IMAGE_REQUIRED_KEYS=${var.preflight_required_keys}",
    ]
    script = "${path.root}/scripts/preflight-enforce.sh"
  }

  provisioner "shell" {
    execute_command = local.execute_command
    environment_vars = [
      "RKE2IMAGE_STAGING=${local.staging}",
      "RKE2IMAGE_SSH_USER=${build.User}",
    ]
    script = "${path.root}/scripts/clean-machine-state.sh"
  }

  post-processor "manifest" {
    output     = var.manifest_file
    strip_path = false
    custom_data = {
      image_name = var.image_name
    }
  }
}
