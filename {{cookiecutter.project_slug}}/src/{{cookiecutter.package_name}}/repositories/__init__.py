"""The service's data access: one repository per kind of data, each behind a FastAPI
dependency, raising these errors instead of the SDK's (docs/datastore.md)."""


class RepositoryError(Exception):
    """A request a repository could not carry out."""


class ItemNotFoundError(RepositoryError):
    """No such item."""


class VersionConflictError(RepositoryError):
    """The item is not at the version the caller expected (or exists when it should not):
    writing would lose another writer's update."""

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class StorageUnavailableError(RepositoryError):
    """The data store did not answer (throttled, unreachable, misconfigured): the request
    may succeed later. Its message names the operation and the error code, never data."""
