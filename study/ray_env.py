"""The environment ganmap gives Ray, set on import: import this before Ray.

Ray reads these when it is imported (`ray._private.ray_constants`, Tune's constants), so
`study.runner` and `study.trial` import this module first. A user's own setting wins.
"""

import os

# A local study binds loopback only; Tune's own console output and per-trial loggers
# are replaced by ganmap's progress and Parquet files.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "30")
# Ctrl-C is ganmap's: Tune's own handler would advise `Tuner.restore`, the wrong advice.
os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")
