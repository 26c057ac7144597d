"""Public reviews: the mentee writes (and for 14 days edits) one, the mentor replies once, operators
moderate. The private exit survey is never shown here."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from tracker import services
from tracker.core import clock
from tracker.domain import reviews as rules
from tracker.reports import directory
from tracker.web.access import own_mentorship_or_404, role_required
from tracker.web.forms import ModerateReviewForm, ReplyForm, ReviewForm, page_number
from tracker.web.pages import REFUSALS, attempt, form_page, show_service_error

bp = Blueprint("reviews", __name__)


@bp.route("/mentorships/<int:mentorship_id>/review", methods=["GET", "POST"])
@role_required("mentee")
def write(mentorship_id: int):
    mentorship = own_mentorship_or_404(mentorship_id)
    at = clock.now()
    review = directory.review_of_mentorship(mentorship_id)
    if review is not None and not rules.editable(review.created_at, at):
        return render_template("reviews/written.html", mentorship=mentorship, review=review)
    blocker = services.review_blocker(mentorship, at) if review is None else None
    if blocker:
        return render_template("reviews/not_yet.html", mentorship=mentorship, blocker=blocker), 409
    if request.method == "GET" and review is not None:
        form = ReviewForm(stars=str(review.stars), text=review.text, naming=review.naming)
    else:
        form = ReviewForm()
    if form.validate_on_submit():
        try:
            services.write_review(current_user.id, mentorship_id, int(form.stars.data), form.text.data,
                                  form.naming.data, form.consent.data, at=at)
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            flash("Your review is published on the mentor's profile." if review is None
                  else "Your review is updated.", "success")
            return redirect(url_for("mentorship.show", mentorship_id=mentorship_id))
    return form_page("reviews/write.html", form, mentorship=mentorship, review=review,
                     editable_days=rules.EDITABLE_FOR.days, text_max=rules.TEXT_MAX)


@bp.post("/reviews/<int:review_id>/reply")
@role_required("mentor")
def reply(review_id: int):
    review = directory.review_by_id(review_id)
    if review is None or review.mentor_id != current_user.id:
        abort(404)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            services.reply_to_review(current_user.id, review_id, form.text.data, at=clock.now())
        except REFUSALS as error:
            show_service_error(error, form)
        else:
            flash("Your reply is published under the review.", "success")
            return redirect(url_for("mentor.ratings") + "#reviews")
    return render_template("reviews/reply.html", form=form, review=review), 400


@bp.get("/ops/reviews")
@role_required("operator")
def moderation():
    state = request.args.get("state") if request.args.get("state") in ("hidden", "visible") else None
    found = directory.reviews_for_moderation(state, page_number(request.args.get("page", "1")))
    return render_template("reviews/moderation.html", found=found, state=state, form=ModerateReviewForm(),
                           reasons=rules.MODERATION_REASONS)


@bp.post("/ops/reviews/<int:review_id>/moderate")
@role_required("operator")
def moderate(review_id: int):
    if directory.review_by_id(review_id) is None:
        abort(404)
    form = ModerateReviewForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return redirect(url_for("reviews.moderation")), 303
    if attempt(services.moderate, current_user.id, review_id, form.target.data, form.action.data,
               form.reason.data, at=clock.now()):
        flash(f"The {form.target.data} is {'hidden' if form.action.data == 'hide' else 'shown again'}.", "success")
    return redirect(url_for("reviews.moderation") + f"#review-{review_id}")
