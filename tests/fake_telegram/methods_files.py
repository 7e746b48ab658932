"""File methods: uploads in sendDocument/sendPhoto, getFile, and the server's file store."""

from __future__ import annotations

import mimetypes

from .errors import ApiError
from .methods_messages import MessageMethods
from .records import JSONDict, StoredFile, UploadedFile
from .validation import caption, checked_markup

__all__ = ["MAX_DOWNLOAD_BYTES", "FileMethods"]

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


class FileMethods(MessageMethods):
    """Files the bot sends (a document or photo is a message with a file) or downloads."""

    def register_file(
        self,
        data: bytes,
        *,
        kind: str = "documents",
        extension: str = "bin",
        mime_type: str | None = None,
        file_name: str | None = None,
    ) -> StoredFile:
        """Store bytes under a fresh file_id so getFile and the download route can serve them."""
        number = next(self._counter)
        stored = StoredFile(
            file_id=f"FAKE-{kind}-{number:06d}-AgADBAADr6cxG",
            file_unique_id=f"AQAD{number:06d}",
            file_path=f"{kind}/file_{number}.{extension}",
            data=data,
            mime_type=mime_type,
            file_name=file_name,
        )
        self.files[stored.file_id] = stored
        return stored

    def _resolve_upload(
        self, field_name: str, params: JSONDict, files: dict[str, UploadedFile], kind: str
    ) -> tuple[UploadedFile, StoredFile]:
        """Find the file of a send* call: multipart part, attach:// part, file_id or URL."""
        upload = files.get(field_name)
        reference = params.get(field_name)
        if upload is None and isinstance(reference, str) and reference.startswith("attach://"):
            upload = files.get(reference.removeprefix("attach://"))
        if upload is not None:
            if not upload.data:
                raise ApiError(400, "Bad Request: file must be non-empty")
            extension = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "bin"
            stored = self.register_file(
                upload.data,
                kind=kind,
                extension=extension,
                mime_type=mimetypes.guess_type(upload.filename)[0],
                file_name=upload.filename,
            )
            return upload, stored
        if isinstance(reference, str) and reference in self.files:
            stored = self.files[reference]
            return UploadedFile(stored.file_name or stored.file_path, stored.data), stored
        if isinstance(reference, str) and reference.startswith(("http://", "https://")):
            filename = reference.rstrip("/").rsplit("/", 1)[-1] or "file"
            stored = self.register_file(b"", kind=kind, file_name=filename)
            return UploadedFile(filename, b""), stored
        if reference is None:
            raise ApiError(400, f"Bad Request: there is no {field_name} in the request")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    # ------------------------------------------------------------------ methods

    async def _send_document(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat_id = self._chat_id(params)
        text, entities = caption(params)
        markup = checked_markup(params.get("reply_markup"))
        upload, stored = self._resolve_upload("document", params, files, "documents")
        message = self._record_message(
            method="sendDocument",
            chat_id=chat_id,
            params=params,
            text=text,
            entities=entities,
            markup=markup,
            document=upload,
            stored=stored,
        )
        return self.message_dict(message)

    async def _send_photo(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat_id = self._chat_id(params)
        text, entities = caption(params)
        markup = checked_markup(params.get("reply_markup"))
        upload, stored = self._resolve_upload("photo", params, files, "photos")
        stored.mime_type = stored.mime_type or "image/jpeg"
        message = self._record_message(
            method="sendPhoto",
            chat_id=chat_id,
            params=params,
            text=text,
            entities=entities,
            markup=markup,
            photo=upload.data,
            stored=stored,
        )
        return self.message_dict(message)

    async def _get_file(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        stored = self.files.get(str(params.get("file_id", "")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }
