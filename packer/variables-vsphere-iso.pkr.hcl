# Variables of the vsphere-iso source: vsphere_<setting> of
# spec.image.builders.vsphere-iso. rke2image passes each setting with the
# schema's default filled in. Passwords are not settings: pass
# PKR_VAR_vsphere_password and PKR_VAR_vsphere_ssh_password.
# A null default: rke2image always sets it when this builder is built.

variable "vsphere_vcenter_server" {
  type        = string
  description = "vCenter server address."
  default     = null
}

variable "vsphere_username" {
  type        = string
  description = "vCenter user."
  default     = null
}

variable "vsphere_password" {
  type        = string
  description = "vCenter password (PKR_VAR_vsphere_password), never in a file."
  default     = ""
  sensitive   = true
}

variable "vsphere_insecure_connection" {
  type        = bool
  description = "Skip the vCenter TLS certificate check."
  default     = null
}

variable "vsphere_datacenter" {
  type        = string
  description = "Datacenter of the build."
  default     = null
}

variable "vsphere_cluster" {
  type        = string
  description = "Cluster of the build."
  default     = null
}

variable "vsphere_datastore" {
  type        = string
  description = "Datastore of the VM."
  default     = null
}

variable "vsphere_folder" {
  type        = string
  description = "VM folder; empty for the datacenter's root."
  default     = ""
}

variable "vsphere_network" {
  type        = string
  description = "Network of the VM."
  default     = null
}

variable "vsphere_guest_os_type" {
  type        = string
  description = "vSphere guest OS type."
  default     = null
}

variable "vsphere_iso_paths" {
  type        = list(string)
  description = "Installer ISO on a datastore, e.g. [\"[datastore1] iso/ubuntu-22.04.iso\"]."
  default     = null
}

variable "vsphere_cpus" {
  type        = number
  description = "VM CPUs."
  default     = null
}

variable "vsphere_ram" {
  type        = number
  description = "VM memory in MiB."
  default     = null
}

variable "vsphere_disk_size" {
  type        = number
  description = "Disk size in MiB."
  default     = null
}

variable "vsphere_boot_command" {
  type        = list(string)
  description = "Keystrokes that drive the installer."
  default     = []
}

variable "vsphere_ssh_username" {
  type        = string
  description = "User Packer logs in as."
  default     = null
}

variable "vsphere_ssh_password" {
  type        = string
  description = "Password login (PKR_VAR_vsphere_ssh_password), never in a file."
  default     = ""
  sensitive   = true
}
