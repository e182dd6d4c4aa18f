# A Compute Engine image. Credentials come from gcp_account_file or
# Application Default Credentials at build time, never at validate time.
source "googlecompute" "rke2image" {
  project_id          = var.gcp_project_id
  zone                = var.gcp_zone
  account_file        = var.gcp_account_file
  source_image        = var.gcp_source_image
  source_image_family = var.gcp_source_image_family
  machine_type        = var.gcp_machine_type
  disk_size           = var.gcp_disk_size
  image_name          = var.image_name
  image_labels        = { "rke2image" = "true" }

  communicator = "ssh"
  ssh_username = var.gcp_ssh_username
}
