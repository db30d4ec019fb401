"""Settings for the whole suite."""

import signal

if hasattr(signal, "SIGHUP"):
    # A suite started under nohup (or by a runner that ignores SIGHUP) passes SIGHUP ignored to every
    # command it starts, and galton keeps an ignored SIGHUP ignored, as nohup asks; the hang-up tests
    # need a terminal's default, and the one that wants nohup's sets it itself.
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
