# Variables every build needs. `rke2image build` writes them all into
# <builder>.pkrvars.json next to these files, so they have no defaults here to
# drift from the code: node paths come from rke2image.paths, the etcd account
# from rke2image.accounts. A person running plain
# `packer build -var-file=qemu.pkrvars.json .` gets the same build.
# Each builder's own variables are in variables-<builder>.pkr.hcl.

variable "image_name" {
  type        = string
  description = "Image name: the spec's image name plus a digest of everything built in."
}

variable "rootfs_dir" {
  type        = string
  description = "Folder holding the rendered node files, laid out as they land on the node."
}

variable "install_list" {
  type        = string
  description = "File listing 'MODE SHA256 PATH' for every file of rootfs_dir."
}

variable "manifest_file" {
  type        = string
  description = "Where Packer's manifest post-processor records the artifacts."
}

variable "output_dir" {
  type        = string
  description = "Folder for local build outputs (the qemu disk image)."
}

variable "sysctl_file" {
  type        = string
  description = "Node path of the sysctl.d file (rke2image.paths.SYSCTL_FILE)."
}

variable "modules_file" {
  type        = string
  description = "Node path of the modules-load.d file (rke2image.paths.MODULES_FILE)."
}

variable "preflight_path" {
  type        = string
  description = "Node path of the preflight script (rke2image.paths.PREFLIGHT)."
}

variable "etcd_user" {
  type        = string
  description = "The etcd account to create (RKE2 servers with profile cis or etcd); empty for none."
}

variable "etcd_user_comment" {
  type        = string
  description = "The etcd account's GECOS comment."
}

variable "etcd_user_shell" {
  type        = string
  description = "The etcd account's login shell (a nologin shell)."
}

variable "rke2_version" {
  type        = string
  description = "RKE2 release installed into the image when the base lacks it (INSTALL_RKE2_VERSION)."
}

variable "rke2_binaries" {
  type        = list(string)
  description = "Where RKE2's installer puts the rke2 binary: one present means RKE2 is installed."
}

variable "rke2_installer_url" {
  type        = string
  description = "RKE2's install script."
}

variable "rke2_type" {
  type        = string
  description = "server or agent (INSTALL_RKE2_TYPE)."
}

variable "preflight_no_swap" {
  type        = bool
  description = "Fail the build when swap is on: only when the spec sets kubelet-arg fail-swap-on=true (RKE2 runs kubelet with fail-swap-on=false)."
}

variable "preflight_required_keys" {
  type        = string
  description = "Comma-separated sysctl keys kubelet reads: missing, they fail the preflight; another missing key only warns."
}
