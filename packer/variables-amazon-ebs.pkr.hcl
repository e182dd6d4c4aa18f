# Variables of the amazon-ebs source: amazon_<setting> of
# spec.image.builders.amazon-ebs. rke2image passes each setting with the schema's
# default filled in; an empty default means the setting is unset.
# A null default: rke2image always sets it when this builder is built.

variable "amazon_region" {
  type        = string
  description = "AWS region the AMI is built in."
  default     = null
}

variable "amazon_instance_type" {
  type        = string
  description = "EC2 instance type of the build machine."
  default     = null
}

variable "amazon_source_ami" {
  type        = string
  description = "A fixed source AMI id; empty to use amazon_source_ami_filter."
  default     = ""
}

variable "amazon_source_ami_filter" {
  type        = map(string)
  description = "EC2 DescribeImages filters, e.g. {name = \"ubuntu/images/*22.04-amd64-server-*\"}."
  default     = {}
}

variable "amazon_source_ami_owners" {
  type        = list(string)
  description = "Owners the source AMI filter accepts."
  default     = []
}

variable "amazon_ami_name" {
  type        = string
  description = "AMI name (rke2image appends the digest); empty uses image_name."
  default     = ""
}

variable "amazon_ssh_username" {
  type        = string
  description = "User Packer logs in as."
  default     = null
}

variable "amazon_subnet_id" {
  type        = string
  description = "Subnet of the build machine; empty for the default VPC."
  default     = ""
}

variable "amazon_volume_size" {
  type        = number
  description = "Root volume size in GiB; 0 keeps the source AMI's."
  default     = 0
}

variable "amazon_tags" {
  type        = map(string)
  description = "Tags of the AMI (rke2image adds rke2image = image_name)."
  default     = {}
}
