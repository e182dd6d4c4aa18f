# An AMI in one region. skip_region_validation keeps `packer validate` from
# calling the EC2 API.
source "amazon-ebs" "rke2image" {
  region                 = var.amazon_region
  skip_region_validation = true
  instance_type          = var.amazon_instance_type
  subnet_id              = var.amazon_subnet_id
  ami_name               = var.amazon_ami_name != "" ? var.amazon_ami_name : var.image_name
  tags                   = merge(var.amazon_tags, { "rke2image" = var.image_name })

  source_ami = var.amazon_source_ami
  source_ami_filter {
    filters     = var.amazon_source_ami_filter
    owners      = var.amazon_source_ami_owners
    most_recent = true
  }

  # Resize the root volume only when a size is given.
  dynamic "launch_block_device_mappings" {
    for_each = var.amazon_volume_size > 0 ? [var.amazon_volume_size] : []
    content {
      device_name           = "/dev/sda1"
      volume_size           = launch_block_device_mappings.value
      volume_type           = "gp3"
      iops                  = 3000
      throughput            = 125
      delete_on_termination = true
    }
  }

  communicator = "ssh"
  ssh_username = var.amazon_ssh_username
}
