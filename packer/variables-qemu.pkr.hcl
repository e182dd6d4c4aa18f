# Variables of the qemu source. A setting of spec.image.builders.qemu is the
# variable qemu_<setting>; rke2image passes each one with the schema's default
# filled in (schemas/builders.schema.json), so those have no default here.
# A null default: rke2image always sets it when this builder is built.

variable "qemu_iso_url" {
  type        = string
  description = "Base disk image (qemu_disk_image) or installer ISO: a path or URL."
  default     = null
}

variable "qemu_iso_checksum" {
  type        = string
  description = "sha256:<hex>, file:<url of a checksum file>, or none."
  default     = null
}

variable "qemu_disk_image" {
  type        = bool
  description = "qemu_iso_url is a bootable disk image, not an installer."
  default     = null
}

variable "qemu_disk_size" {
  type        = string
  description = "Size of the output disk, e.g. 10G; ignored when qemu_skip_resize_disk."
  default     = null
}

variable "qemu_skip_resize_disk" {
  type        = bool
  description = "Keep the base image's disk size (no disk_size setting)."
  default     = null
}

variable "qemu_accelerator" {
  type        = string
  description = "kvm or tcg: rke2image resolves the setting auto on the build host."
  default     = null
}

variable "qemu_memory" {
  type        = number
  description = "Guest memory in MiB."
  default     = null
}

variable "qemu_cpus" {
  type        = number
  description = "Guest CPUs."
  default     = null
}

variable "qemu_qemuargs" {
  type        = list(list(string))
  description = "Extra QEMU arguments (-kernel/-initrd/-append/-bios and more)."
  default     = null
}

variable "qemu_cd_files" {
  type        = list(string)
  description = "Files of the NoCloud seed CD (label cidata); empty for none."
  default     = []
}

variable "qemu_ssh_username" {
  type        = string
  description = "User Packer logs in as."
  default     = null
}

variable "qemu_ssh_password" {
  type        = string
  description = "Password login; pass it as PKR_VAR_qemu_ssh_password, never in a file."
  default     = ""
  sensitive   = true
}

variable "qemu_ssh_private_key_file" {
  type        = string
  description = "Key Packer logs in with; empty for none (password login)."
  default     = ""
}

variable "qemu_ssh_timeout" {
  type        = string
  description = "How long Packer waits for SSH, e.g. 20m."
  default     = null
}

variable "qemu_shutdown_timeout" {
  type        = string
  description = "How long Packer waits for the guest to power off, e.g. 5m."
  default     = null
}
