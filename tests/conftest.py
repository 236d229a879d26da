from hypothesis import settings

# Model and framework property tests (tests/) are derandomized: CI sees the same examples every run;
# no example database is written into the checkout. (Not in the root conftest.py: cocotb's assertion
# rewriting loads that one in every simulation, and hypothesis costs ~0.5 s to import there.)
settings.register_profile("asicdv", derandomize=True, database=None)
settings.load_profile("asicdv")
