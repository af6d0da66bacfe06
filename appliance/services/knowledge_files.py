"""Images and attachments of knowledge articles.

Stored exactly like ticket attachments (services/attachments.py: checked by
extension *and* content, random names outside the web root, nothing written when
one upload of a batch is bad); only the limits differ: an image is shown inline in
the article, so it is kept small, and neither goes above the administrator's attachment
limit. Staff read every file; customers (the portal) only the files of published public
articles.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from appliance import dto
from appliance.errors import NotFound, PayloadTooLarge, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Article, ArticleFile
from appliance.rules import knowledge as rules
from appliance.rules.access import Actor
from appliance.services import attachments, knowledge
from appliance.services.attachments import Upload
from appliance.settings import Settings

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILES = 50
IMAGE_TYPES = ("png", "jpg", "jpeg", "gif", "webp")


@dataclass(frozen=True)
class FileView:
    id: int
    article_id: int
    filename: str
    content_type: str
    size: int
    is_image: bool
    uploaded_by: dto.Ref | None
    created_at: object


def _view(f: ArticleFile) -> FileView:
    return FileView(f.id, f.article_id, f.filename, f.content_type, f.size,
                    f.content_type.startswith("image/"), knowledge._user_ref(f.uploaded_by_id),
                    f.created_at)


def _is_image(name: str) -> bool:
    return attachments._extension(attachments.safe_filename(name)) in IMAGE_TYPES


def image_limit(settings: Settings) -> int:
    """The largest image in bytes: ours, or the administrator's attachment limit if lower."""
    return min(MAX_IMAGE_BYTES, settings.max_attachment_bytes)


def file_limit(settings: Settings) -> int:
    """The largest other file in bytes: the administrator's attachment limit applies to
    articles too (it sizes the disk and the backups), so ours can only lower it."""
    return min(MAX_FILE_BYTES, settings.max_attachment_bytes)


def _limited(settings: Settings, limit: int) -> Settings:
    return dataclasses.replace(settings, max_attachment_bytes=limit)


def check_uploads(uploads: list[Upload], settings: Settings) -> None:
    """Each file against its own limit (image or other) and the allowed types, by content."""
    for u in uploads:
        limit = image_limit(settings) if _is_image(u.filename) else file_limit(settings)
        attachments.check_upload(u, _limited(settings, limit))


def _editable(actor: Actor, article_id) -> Article:
    if not knowledge.can_write_articles(actor):
        raise NotFound("article not found", id=article_id)
    a = knowledge.load_visible(actor, article_id)
    if not rules.can_edit(actor, a.status, knowledge.review_facts(a.category_id)):
        raise PermissionDenied("published articles are changed by their reviewers")
    return a


def upload_files(actor: Actor, article_id: int, uploads: list[Upload],
                 settings: Settings) -> list[FileView]:
    """Store the uploads as files of the article: all of them or none (413/415/400)."""
    if not uploads:
        raise ValidationError({"files": "required"})
    a = _editable(actor, article_id)
    check_uploads(uploads, settings)
    if ArticleFile.select().where(ArticleFile.article == a.id).count() + len(uploads) > MAX_FILES:
        raise PayloadTooLarge(f"at most {MAX_FILES} files", field="files", limit=MAX_FILES)
    written = attachments.write_files(uploads, _limited(settings, file_limit(settings)))
    try:
        with unit_of_work():
            rows = [ArticleFile.create(article=a.id, uploaded_by=actor.user_id or None, **w)
                    for w in written]
    except Exception:
        attachments.remove_files([w["storage_name"] for w in written], settings)
        raise
    return [_view(r) for r in rows]


def list_files(actor: Actor, article_id: int) -> list[FileView]:
    a = knowledge.get_article(actor, article_id)  # 404 unless the actor may read it
    return [_view(f) for f in ArticleFile.select().where(ArticleFile.article == a.id)
            .order_by(ArticleFile.id)]


def file_ids(article_id: int) -> set[int]:
    """Ids of the article's files: the only images its body may show."""
    return {f.id for f in ArticleFile.select(ArticleFile.id).where(ArticleFile.article == article_id)}


def delete_file(actor: Actor, file_id: int, settings: Settings) -> None:
    f = ArticleFile.get_or_none(ArticleFile.id == file_id) if str(file_id).isdigit() else None
    if f is None or not knowledge.can_write_articles(actor):
        raise NotFound("file not found", id=file_id)
    with unit_of_work():
        _editable(actor, f.article_id)
        ArticleFile.delete().where(ArticleFile.id == f.id).execute()
    attachments.remove_files([f.storage_name], settings)


def open_file(actor: Actor, file_id: int, settings: Settings, *,
              public_only: bool = False) -> tuple[FileView, bytes]:
    """The file and its bytes if the actor may read its article; `public_only` (the
    portal) serves only files of published public articles, whoever asks."""
    f = ArticleFile.get_or_none(ArticleFile.id == file_id) if str(file_id).isdigit() else None
    a = Article.get_or_none(Article.id == f.article_id) if f else None
    if a is None or not knowledge.can_see(actor, a) or (
            public_only and not (a.status == "published" and a.visibility == "public")):
        raise NotFound("file not found", id=file_id)
    return _view(f), attachments.read_file(settings, f.storage_name)
