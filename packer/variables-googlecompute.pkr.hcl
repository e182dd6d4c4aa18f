# Variables of the googlecompute source: gcp_<setting> of
# spec.image.builders.googlecompute. rke2image passes each setting with the
# schema's default filled in; an empty default means the setting is unset.
# A null default: rke2image always sets it when this builder is built.

variable "gcp_project_id" {
  type        = string
  description = "Google Cloud project the image is built in."
  default     = null
}

variable "gcp_zone" {
  type        = string
  description = "Zone of the build machine."
  default     = null
}

variable "gcp_source_image" {
  type        = string
  description = "A fixed source image; empty to use gcp_source_image_family."
  default     = ""
}

variable "gcp_source_image_family" {
  type        = string
  description = "Family of the source image."
  default     = null
}

variable "gcp_machine_type" {
  type        = string
  description = "Machine type of the build machine."
  default     = null
}

variable "gcp_disk_size" {
  type        = number
  description = "Boot disk size in GB."
  default     = null
}

variable "gcp_account_file" {
  type        = string
  description = "Service account key file; empty for Application Default Credentials."
  default     = ""
}

variable "gcp_ssh_username" {
  type        = string
  description = "User Packer logs in as."
  default     = null
}
