"""Imports shared by the in-process pytester tests.

pytester drops every module first imported inside an in-process run, so without these each run
would import them again (and assertion-rewrite hypothesis, the package of a pytest plugin).
"""

import hypothesis.internal.observability  # noqa: F401 - hypothesis' terminal summary needs it
import xray_core.diff  # noqa: F401
import xray_core.report  # noqa: F401
import xray_core.store.sqlite  # noqa: F401
