# A managed image. Authenticates through the Azure CLI by default, or a service
# principal (PKR_VAR_azure_client_id / PKR_VAR_azure_client_secret).
source "azure-arm" "rke2image" {
  subscription_id    = var.azure_subscription_id
  use_azure_cli_auth = var.azure_use_azure_cli_auth
  client_id          = var.azure_client_id
  client_secret      = var.azure_client_secret

  location        = var.azure_location
  vm_size         = var.azure_vm_size
  os_type         = "Linux"
  image_publisher = var.azure_image_publisher
  image_offer     = var.azure_image_offer
  image_sku       = var.azure_image_sku

  managed_image_name                = var.image_name
  managed_image_resource_group_name = var.azure_managed_image_resource_group_name

  communicator = "ssh"
  ssh_username = var.azure_ssh_username
}
