# For Packer >= 1.7 only (Packer 1.6.6 rejects required_plugins and has these
# builders built in). `rke2image build` copies this file into the project and
# runs `packer init` when `packer version` says 1.7 or later; by hand:
#   cp packer/plugins/required-plugins.pkr.hcl packer/ && packer init packer/
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    qemu = {
      version = ">= 1.1.0"
      source  = "github.com/hashicorp/qemu"
    }
    amazon = {
      version = ">= 1.3.0"
      source  = "github.com/hashicorp/amazon"
    }
    azure = {
      version = ">= 2.0.0"
      source  = "github.com/hashicorp/azure"
    }
    googlecompute = {
      version = ">= 1.1.0"
      source  = "github.com/hashicorp/googlecompute"
    }
    vsphere = {
      version = ">= 1.2.0"
      source  = "github.com/hashicorp/vsphere"
    }
  }
}
