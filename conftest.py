pytest_plugins = ("asicdv.pytest_plugin",)
