"""rke2image: keep RKE2 nodes from booting with kernel parameters that kubelet rejects."""

__version__ = "0.1.0"
