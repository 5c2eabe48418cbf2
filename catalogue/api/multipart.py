"""A multipart/form-data body read as a stream, as the local upload URL receives it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from pipelines.objects import CHUNK_BYTES

# The form fields before the file are small (key, policy, signature): bound what they may use.
MAX_FIELDS_BYTES = 64 * 1024
MAX_FORM_PARTS = 32


class FormStream:
    """A multipart/form-data body read as a stream: the fields, then the file part's bytes.

    Only the fields are held in memory (bounded by MAX_FIELDS_BYTES); the file is read in
    chunks as the store asks for them.
    """

    def __init__(self, stream: IO[bytes], boundary: bytes) -> None:
        self.stream = stream
        # No max_form_memory_size: the decoder's buffer also holds file data; the fields are
        # bounded in fields_before_file instead.
        self.decoder = MultipartDecoder(boundary, max_parts=MAX_FORM_PARTS)
        self.events = self._events()

    def _events(self) -> Iterator[Any]:
        while True:
            try:
                event = self.decoder.next_event()
            except ValueError as error:
                raise BadRequest(f"the form is incomplete: {error}") from None
            if isinstance(event, NeedData):
                self.decoder.receive_data(self.stream.read(CHUNK_BYTES) or None)
                continue
            yield event
            if isinstance(event, Epilogue):
                return

    def fields_before_file(self) -> dict[str, str]:
        """Read the fields up to the file part (which must come last, as S3 requires)."""
        fields: dict[str, str] = {}
        used = 0
        name = None
        value = bytearray()
        for event in self.events:
            if isinstance(event, File):
                return fields
            if isinstance(event, Field):
                name, value = event.name, bytearray()
            elif isinstance(event, Data) and name is not None:
                value += event.data
                used += len(event.data)
                if used > MAX_FIELDS_BYTES:
                    raise RequestEntityTooLarge("the form fields are too large")
                if not event.more_data:
                    fields[name] = value.decode("utf-8", "replace")
                    name = None
        raise BadRequest("the form has no file part (it must come after the fields)")

    def file_body(self, max_bytes: int) -> FileBody:
        return FileBody(self, max_bytes)


class FileBody:
    """The file part as a read-only binary stream; raises 413 once past ``max_bytes``.

    A read returns at most one decoded piece of the form (short reads, as a raw stream may),
    so the bytes are not copied again on their way to the store.
    """

    def __init__(self, form: FormStream, max_bytes: int) -> None:
        self.form = form
        self.max_bytes = max_bytes
        self.received = 0
        self.done = False
        self.pending = b""
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            return b"".join(iter(lambda: self.read(CHUNK_BYTES), b""))
        while self.offset >= len(self.pending) and not self.done:
            self.pending, self.offset = self._pull(), 0
        start = self.offset
        self.offset = min(len(self.pending), start + size)
        if start == 0 and self.offset == len(self.pending):
            return self.pending
        return self.pending[start : self.offset]

    def _pull(self) -> bytes:
        event = next(self.form.events, None)
        if not isinstance(event, Data):
            raise BadRequest("the file part ended without its closing boundary")
        self.received += len(event.data)
        if self.received > self.max_bytes:
            raise RequestEntityTooLarge(
                f"the file is larger than the {self.max_bytes} bytes this upload allows"
            )
        if not event.more_data:
            self.done = True
            # Whatever follows the file is ignored, as S3 does; read it so the body is consumed.
            for _ in self.form.events:
                pass
        return event.data

    def seekable(self) -> bool:
        return False
