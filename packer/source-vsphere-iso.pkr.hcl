# A vSphere template installed from an ISO on a datastore; boot_command drives
# the installer. The password comes from PKR_VAR_vsphere_password.
source "vsphere-iso" "rke2image" {
  vcenter_server      = var.vsphere_vcenter_server
  username            = var.vsphere_username
  password            = var.vsphere_password
  insecure_connection = var.vsphere_insecure_connection

  datacenter = var.vsphere_datacenter
  cluster    = var.vsphere_cluster
  datastore  = var.vsphere_datastore
  folder     = var.vsphere_folder

  vm_name              = var.image_name
  guest_os_type        = var.vsphere_guest_os_type
  CPUs                 = var.vsphere_cpus
  RAM                  = var.vsphere_ram
  disk_controller_type = ["pvscsi"]
  storage {
    disk_size             = var.vsphere_disk_size
    disk_thin_provisioned = true
  }
  network_adapters {
    network      = var.vsphere_network
    network_card = "vmxnet3"
  }

  iso_paths           = var.vsphere_iso_paths
  boot_command        = var.vsphere_boot_command
  convert_to_template = true

  communicator = "ssh"
  ssh_username = var.vsphere_ssh_username
  ssh_password = var.vsphere_ssh_password
}
