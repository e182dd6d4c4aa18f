"""Build VM images of a node with Packer: ``build(node, BuildOptions(output=...))``.

``run`` builds one node (project folder, digest, packer validate/build);
``builders`` is the table of Packer builders; ``packer`` the one module that runs
Packer; ``project``, ``digest`` and ``record`` the project folder, the image's
content digest and what was built.
"""

from rke2image.bake.run import BuildOptions, BuildResult, build

__all__ = ["BuildOptions", "BuildResult", "build"]
