# Variables of the rke2image build. `rke2image build` writes every value it
# knows into rke2image.pkrvars.json next to these files; a person running plain
# `packer build -var-file=rke2image.pkrvars.json .` gets the same build.
# Per-builder settings are prefixed: qemu_, amazon_, azure_, gcp_, vsphere_.
# Secrets (azure_client_secret, vsphere_password, qemu_ssh_password) are never
# written to the variables file: pass them as PKR_VAR_<name> environment
# variables.

# --- common ---------------------------------------------------------------

variable "image_name" {
  type        = string
  description = "Image name: the spec's image name plus a digest of everything baked in."
  default     = "rke2image"
}

variable "rootfs_dir" {
  type        = string
  description = "Folder holding the rendered node files, laid out as they land on the node."
  default     = "rootfs"
}

variable "install_list" {
  type        = string
  description = "File listing 'MODE SHA256 PATH' for every file of rootfs_dir."
  default     = "install.list"
}

variable "manifest_file" {
  type        = string
  description = "Where Packer's manifest post-processor records the artifacts."
  default     = "packer-manifest.json"
}

variable "output_dir" {
  type        = string
  description = "Folder for local build outputs (the qemu disk image)."
  default     = "output"
}

variable "sysctl_file" {
  type    = string
  default = "/etc/sysctl.d/99-zz-rke2image.conf"
}

variable "modules_file" {
  type    = string
  default = "/etc/modules-load.d/rke2image.conf"
}

variable "preflight_path" {
  type    = string
  default = "/usr/local/libexec/rke2image/preflight"
}

variable "create_etcd_user" {
  type        = bool
  description = "Create the etcd user and group (RKE2 servers with profile cis or etcd)."
  default     = false
}

variable "rke2_version" {
  type        = string
  description = "RKE2 release installed into the image when the base lacks it (INSTALL_RKE2_VERSION)."
}

variable "rke2_type" {
  type        = string
  description = "server or agent (INSTALL_RKE2_TYPE)."
  default     = "server"
}

variable "preflight_no_swap" {
  type        = bool
  description = "Fail the build when swap is on: only when the spec sets kubelet-arg fail-swap-on=true (RKE2 runs kubelet with fail-swap-on=false)."
  default     = false
}

variable "preflight_required_keys" {
  type        = string
  description = "Comma-separated sysctl keys kubelet reads: missing, they fail the preflight; another missing key only warns."
}

# --- qemu -------------------------------------------------------------------

variable "qemu_iso_url" {
  type        = string
  description = "Base disk image (disk_image = true) or installer ISO: a path or URL."
  default     = "base.qcow2"
}

variable "qemu_iso_checksum" {
  type        = string
  description = "sha256:<hex>, file:<url of a checksum file>, or none."
  default     = "none"
}

variable "qemu_disk_image" {
  type    = bool
  default = true
}

variable "qemu_disk_size" {
  type        = string
  description = "Size of the output disk, e.g. 10G; ignored when qemu_skip_resize_disk."
  default     = "10G"
}

variable "qemu_skip_resize_disk" {
  type    = bool
  default = true
}

variable "qemu_accelerator" {
  type    = string
  default = "tcg"
}

variable "qemu_memory" {
  type    = number
  default = 2048
}

variable "qemu_cpus" {
  type    = number
  default = 2
}

variable "qemu_qemuargs" {
  type        = list(list(string))
  description = "Extra QEMU arguments (-kernel/-initrd/-append/-bios and more)."
  default     = []
}

variable "qemu_cd_files" {
  type        = list(string)
  description = "Files of the NoCloud seed CD (label cidata); empty for none."
  default     = []
}

variable "qemu_ssh_username" {
  type    = string
  default = "packer"
}

variable "qemu_ssh_password" {
  type      = string
  default   = ""
  sensitive = true
}

variable "qemu_ssh_private_key_file" {
  type    = string
  default = ""
}

variable "qemu_ssh_timeout" {
  type    = string
  default = "20m"
}

variable "qemu_shutdown_timeout" {
  type    = string
  default = "5m"
}

variable "qemu_boot_wait" {
  type    = string
  default = "1s"
}

# --- amazon-ebs -------------------------------------------------------------

variable "amazon_region" {
  type    = string
  default = "us-east-1"
}

variable "amazon_instance_type" {
  type    = string
  default = "t3.medium"
}

variable "amazon_source_ami" {
  type        = string
  description = "A fixed source AMI id; leave empty to use amazon_source_ami_filter."
  default     = ""
}

variable "amazon_source_ami_filter" {
  type        = map(string)
  description = "EC2 DescribeImages filters, e.g. {name = \"ubuntu/images/*22.04-amd64-server-*\"}."
  default     = {}
}

variable "amazon_source_ami_owners" {
  type    = list(string)
  default = []
}

variable "amazon_ami_name" {
  type        = string
  description = "AMI name; empty uses image_name."
  default     = ""
}

variable "amazon_ssh_username" {
  type    = string
  default = "ubuntu"
}

variable "amazon_subnet_id" {
  type    = string
  default = ""
}

variable "amazon_volume_size" {
  type        = number
  description = "Root volume size in GiB; 0 keeps the source AMI's."
  default     = 0
}

variable "amazon_tags" {
  type    = map(string)
  default = {}
}

# --- azure-arm --------------------------------------------------------------

variable "azure_subscription_id" {
  type    = string
  default = ""
}

variable "azure_use_azure_cli_auth" {
  type    = bool
  default = true
}

variable "azure_client_id" {
  type    = string
  default = ""
}

variable "azure_client_secret" {
  type      = string
  default   = ""
  sensitive = true
}

variable "azure_location" {
  type    = string
  default = "westeurope"
}

variable "azure_vm_size" {
  type    = string
  default = "Standard_D2s_v3"
}

variable "azure_image_publisher" {
  type    = string
  default = "Canonical"
}

variable "azure_image_offer" {
  type    = string
  default = "0001-com-ubuntu-server-jammy"
}

variable "azure_image_sku" {
  type    = string
  default = "22_04-lts"
}

variable "azure_managed_image_resource_group_name" {
  type    = string
  default = ""
}

variable "azure_ssh_username" {
  type    = string
  default = "packer"
}

# --- googlecompute ----------------------------------------------------------

variable "gcp_project_id" {
  type    = string
  default = ""
}

variable "gcp_zone" {
  type    = string
  default = "europe-west1-b"
}

variable "gcp_source_image" {
  type    = string
  default = ""
}

variable "gcp_source_image_family" {
  type    = string
  default = "ubuntu-2204-lts"
}

variable "gcp_machine_type" {
  type    = string
  default = "e2-standard-2"
}

variable "gcp_disk_size" {
  type        = number
  description = "Boot disk size in GB."
  default     = 20
}

variable "gcp_account_file" {
  type        = string
  description = "Service account key file; empty for Application Default Credentials."
  default     = ""
}

variable "gcp_ssh_username" {
  type    = string
  default = "packer"
}

# --- vsphere-iso ------------------------------------------------------------

variable "vsphere_vcenter_server" {
  type    = string
  default = ""
}

variable "vsphere_username" {
  type    = string
  default = ""
}

variable "vsphere_password" {
  type      = string
  default   = ""
  sensitive = true
}

variable "vsphere_insecure_connection" {
  type    = bool
  default = false
}

variable "vsphere_datacenter" {
  type    = string
  default = ""
}

variable "vsphere_cluster" {
  type    = string
  default = ""
}

variable "vsphere_datastore" {
  type    = string
  default = ""
}

variable "vsphere_folder" {
  type    = string
  default = ""
}

variable "vsphere_network" {
  type    = string
  default = "VM Network"
}

variable "vsphere_guest_os_type" {
  type    = string
  default = "ubuntu64Guest"
}

variable "vsphere_iso_paths" {
  type        = list(string)
  description = "Installer ISO on a datastore, e.g. [\"[datastore1] iso/ubuntu-22.04.iso\"]."
  default     = []
}

variable "vsphere_cpus" {
  type    = number
  default = 2
}

variable "vsphere_ram" {
  type        = number
  description = "Memory in MiB."
  default     = 4096
}

variable "vsphere_disk_size" {
  type        = number
  description = "Disk size in MiB."
  default     = 20480
}

variable "vsphere_boot_command" {
  type    = list(string)
  default = []
}

variable "vsphere_ssh_username" {
  type    = string
  default = "packer"
}

variable "vsphere_ssh_password" {
  type      = string
  default   = ""
  sensitive = true
}
