"""The error every bad pipeline input is reported with."""


class PipelineError(Exception):
    """A user error (bad flag, unreadable data, unwritable directory).

    The entry point prints its message and exits with status 1; nothing
    written by earlier runs is changed.
    """
