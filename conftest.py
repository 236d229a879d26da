from hypothesis import settings

pytest_plugins = ("asicdv.pytest_plugin",)

# Model and framework property tests (tests/) are derandomized: CI sees the same examples every run;
# no example database is written into the checkout.
settings.register_profile("asicdv", derandomize=True, database=None)
settings.load_profile("asicdv")
