"""Materials as files on the pages (issue 16): the window uploads a material's scan from the intake's
confirmation page or the case page, and the staff of the case's offices look at each file in the page.

The upload forms post here through the page that shows them (intake.done_files, window.case_files): a file
refused by the checks is shown next to its material on that page again, nothing else of the case changed."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for

from app.addresses import files_answer
from app.web import committed, env, file_store, role_required
from tracking.commands import case_files
from tracking.model.errors import Refused
from tracking.model.inputs import parse
from tracking.reads import case_files as file_reads

bp = Blueprint("files", __name__, url_prefix="/files")

ACCEPT = "application/pdf,image/jpeg,image/png"  # what the file inputs offer; the checks look at the content


def files_for_page(case_no: str) -> dict:
    """The case's files with their addresses, for a page that has read (and logged) the case itself."""
    return files_answer(file_reads.case_files(g.db, g.actor, case_no, logged=False))


def upload_from_form(case_no: str) -> dict[str, str]:
    """The form's file uploaded and committed; or the refusal, by the material it is about ("_" when the form
    named none), with nothing kept."""
    code = (request.form.get("material_code") or "").strip()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return {code or "_": "请选择要上传的文件（PDF、JPEG 或 PNG）。"}
    try:
        command = parse(case_files.FileUpload, {name: request.form[name] for name in ("material_code", "purpose")
                                                if request.form.get(name)})
        case_files.upload_case_files(g.db, env(), file_store(), g.actor, case_no, command, upload.read(),
                                     upload.filename)
    except Refused as e:
        g.db.rollback()
        return {code or "_": e.message}
    committed()
    return {}


@bp.get("/<int:file_id>")
@role_required("clerk", "officer")
def view(file_id):
    """One file in the page (PDF.js for a PDF, an <img> for a picture), with its case and material."""
    row = file_reads.file_for_staff(g.db, g.actor, file_id)
    back = url_for("office.case" if g.actor.role == "officer" else "window.case", case_no=row["case_no"])
    return render_template("files/view.html", file=row, back=back,
                           url=url_for("api.case_file", file_id=file_id) if not row["removed_at"] else None)
