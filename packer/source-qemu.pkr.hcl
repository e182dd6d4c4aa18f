# The local default: build a qcow2 under QEMU from a base cloud image (disk_image)
# or an installer ISO. An optional NoCloud seed CD (label cidata) gives Packer
# its SSH login; qemuargs can boot a kernel directly (-kernel/-initrd/-append).
source "qemu" "rke2image" {
  vm_name          = "${var.image_name}.qcow2"
  output_directory = "${var.output_dir}/qemu"
  format           = "qcow2"
  headless         = true

  iso_url          = var.qemu_iso_url
  iso_checksum     = var.qemu_iso_checksum
  disk_image       = var.qemu_disk_image
  disk_size        = var.qemu_disk_size
  skip_resize_disk = var.qemu_skip_resize_disk
  disk_interface   = "virtio"
  net_device       = "virtio-net"

  accelerator = var.qemu_accelerator
  memory      = var.qemu_memory
  cpus        = var.qemu_cpus
  qemuargs    = var.qemu_qemuargs

  cd_files = var.qemu_cd_files
  cd_label = "cidata"

  boot_wait            = "1s"
  communicator         = "ssh"
  ssh_username         = var.qemu_ssh_username
  ssh_password         = var.qemu_ssh_password
  ssh_private_key_file = var.qemu_ssh_private_key_file
  ssh_timeout          = var.qemu_ssh_timeout

  # Packer 1.6.6 ignores SIGTERM while it waits for the guest to power off:
  # shutdown_timeout bounds that wait.
  shutdown_command = "sudo -n /sbin/shutdown -P now || /sbin/shutdown -P now"
  shutdown_timeout = var.qemu_shutdown_timeout
}
