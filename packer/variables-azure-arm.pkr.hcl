# Variables of the azure-arm source: azure_<setting> of
# spec.image.builders.azure-arm. rke2image passes each setting with the schema's
# default filled in. The service principal is not a setting: pass
# PKR_VAR_azure_client_id / PKR_VAR_azure_client_secret.
# A null default: rke2image always sets it when this builder is built.

variable "azure_subscription_id" {
  type        = string
  description = "Azure subscription the image is built in."
  default     = null
}

variable "azure_use_azure_cli_auth" {
  type        = bool
  description = "Authenticate through the Azure CLI (az login)."
  default     = null
}

variable "azure_client_id" {
  type        = string
  description = "Service principal id (PKR_VAR_azure_client_id); empty with the Azure CLI."
  default     = ""
}

variable "azure_client_secret" {
  type        = string
  description = "Service principal secret (PKR_VAR_azure_client_secret), never in a file."
  default     = ""
  sensitive   = true
}

variable "azure_location" {
  type        = string
  description = "Azure region of the build."
  default     = null
}

variable "azure_vm_size" {
  type        = string
  description = "VM size of the build machine."
  default     = null
}

variable "azure_image_publisher" {
  type        = string
  description = "Publisher of the base image."
  default     = null
}

variable "azure_image_offer" {
  type        = string
  description = "Offer of the base image."
  default     = null
}

variable "azure_image_sku" {
  type        = string
  description = "SKU of the base image."
  default     = null
}

variable "azure_managed_image_resource_group_name" {
  type        = string
  description = "Resource group the managed image goes to."
  default     = null
}

variable "azure_ssh_username" {
  type        = string
  description = "User Packer logs in as."
  default     = null
}
