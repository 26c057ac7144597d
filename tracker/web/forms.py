"""WTForms classes: every rule checked on the server, every message written for the person."""
from __future__ import annotations

import unicodedata
from datetime import timezone

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields import Field
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput, NumberInput

from tracker.domain.accounts import NAME_MAX, PASSWORD_MAX, PASSWORD_MIN
from tracker.domain.lifecycle import CHECKIN_MINUTES_MAX, CHECKIN_MINUTES_MIN, FIXED_OFFERS, PAUSE_MONTHS
from tracker.domain.notifications import KINDS, OPTIONAL_KINDS
from tracker.domain.reviews import MODERATION_REASONS, NAMINGS, REPLY_MAX, TEXT_MAX
from tracker.domain.vocabulary import (
    CHECKIN_MODES,
    CHURN_REASONS,
    GOAL_CATEGORIES,
    GOAL_REACHED,
    MEETING_PREFERENCES,
    OFFERS,
    PROGRESS_MAX,
    PROGRESS_MIN,
    STARS_MAX,
    STARS_MIN,
    USEFULNESS_MAX,
    USEFULNESS_MIN,
)

GOAL_TEXT_MIN, GOAL_TEXT_MAX = 20, 2000
FEEDBACK_MAX = 2000


def plain_text(multiline: bool = False):
    """Refuse NUL and other control characters (newlines and tabs only where text may span lines)."""
    allowed = {"\n", "\r", "\t"} if multiline else set()

    def check(form, field):
        value = field.data or ""
        for char in value:
            if char not in allowed and unicodedata.category(char) in ("Cc", "Cs"):
                raise ValidationError("This field contains a control character; please remove it.")
    return check


def _choices(mapping: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in mapping.items()]


class WholeNumberField(Field):
    """An integer typed with the digits 0-9 only (int() would also accept look-alike digits)."""

    widget = NumberInput()

    def __init__(self, label=None, validators=None, minimum=None, maximum=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _value(self):
        return self.raw_data[0] if self.raw_data else ("" if self.data is None else str(self.data))

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or valuelist[0].strip() == "":
            return
        text = valuelist[0].strip()
        if not (text.isascii() and text.isdigit()):
            raise ValueError("Enter a whole number using the digits 0-9.")
        self.data = int(text)

    def pre_validate(self, form):
        if self.data is None:
            return
        if (self.minimum is not None and self.data < self.minimum) or \
                (self.maximum is not None and self.data > self.maximum):
            raise ValidationError(f"Enter a number from {self.minimum} to {self.maximum}.")


class PercentField(WholeNumberField):
    """A percentage typed with the digits 0-9 and at most one decimal place ("12" or "12.5")."""

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or valuelist[0].strip() == "":
            return
        text = valuelist[0].strip()
        whole, dot, tenths = text.partition(".")
        if not (whole.isascii() and whole.isdigit() and len(whole) <= 3
                and (not dot or (tenths.isascii() and tenths.isdigit() and len(tenths) == 1))):
            raise ValueError("Enter a percentage such as 25 or 12.5, using the digits 0-9.")
        self.data = float(text)


def optional_id(value) -> int | None:
    """A HiddenField filter for an id the page sent back: 1 to 11 ASCII digits; anything else counts
    as absent (None), never as an error."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        return int(value)
    return None


class LenientField(Field):
    """A reading filter from a URL: `parse` turns the first value sent (or `absent`) into data, and a
    value it does not know into its default; an unknown value is ignored, never an error."""

    def __init__(self, parse, absent: str = "", **kwargs):
        super().__init__(default=parse(absent), **kwargs)
        self.parse, self.absent = parse, absent

    def process_formdata(self, valuelist):
        self.data = self.parse(valuelist[0] if valuelist else self.absent)


class UTCDateTimeLocalField(DateTimeLocalField):
    """A date and time typed as UTC; `data` is an aware datetime, to the minute."""

    def __init__(self, label=None, validators=None, **kwargs):
        formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        super().__init__(label, validators, format=formats, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a date and time, e.g. 2026-03-01 14:30.") from None
        if self.data is not None:
            self.data = self.data.replace(tzinfo=timezone.utc, second=0, microsecond=0)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email."), Length(max=254), plain_text()])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."),
                                                     Length(max=PASSWORD_MAX), plain_text()])
    remember = BooleanField("Keep me logged in on this device")
    submit = SubmitField("Log in")


def _password_field(label: str) -> PasswordField:
    return PasswordField(label, validators=[
        DataRequired("Choose a password."),
        Length(PASSWORD_MIN, PASSWORD_MAX, f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters."),
        plain_text()])


def _email_field() -> EmailField:
    return EmailField("Email", validators=[
        DataRequired("Enter an email address."), Length(max=254),
        Email("Enter a valid email address, like name@example.com."), plain_text()])


def _name_field() -> StringField:
    return StringField("Name", validators=[
        DataRequired("Enter a name."), Length(max=NAME_MAX, message=f"Keep the name under {NAME_MAX} characters."),
        plain_text()])


class SignupForm(FlaskForm):
    name = _name_field()
    email = _email_field()
    password = _password_field("Password")
    confirm = PasswordField("Repeat the password", validators=[
        DataRequired("Repeat the password."), EqualTo("password", "The two passwords differ.")])
    submit = SubmitField("Create my account")


class CreateUserForm(FlaskForm):
    name = _name_field()
    email = _email_field()
    role = SelectField("Role", choices=_choices({"mentor": "Mentor", "operator": "Operator",
                                                 "mentee": "Mentee"}))
    password = _password_field("Initial password")
    submit = SubmitField("Create account")


class MentorProfileForm(FlaskForm):
    name = _name_field()
    headline = StringField("Headline", validators=[
        DataRequired("Write a one-line headline, e.g. 'Staff engineer at a fintech'."),
        Length(max=120, message="Keep the headline under 120 characters."), plain_text()])
    expertise = StringField("Expertise (comma separated)", validators=[
        Length(max=300, message="Keep the expertise list under 300 characters."), plain_text()])
    bio = TextAreaField("About you", validators=[
        Length(max=4000, message="Keep it under 4000 characters."), plain_text(multiline=True)])
    accepting_applications = BooleanField("Accepting new applications")
    submit = SubmitField("Save profile")


class ApplicationForm(FlaskForm):
    goal_category = RadioField("What is your goal?", choices=_choices(GOAL_CATEGORIES),
                               validators=[InputRequired("Choose the kind of goal.")])
    goal_text = TextAreaField("Your goal, in your own words", validators=[
        DataRequired("Describe your goal."),
        Length(GOAL_TEXT_MIN, GOAL_TEXT_MAX,
               f"Describe your goal in {GOAL_TEXT_MIN} to {GOAL_TEXT_MAX} characters."),
        plain_text(multiline=True)])
    meeting_preference = RadioField("How would you like to meet?", choices=_choices(MEETING_PREFERENCES),
                                    validators=[InputRequired("Choose how you would like to meet.")])
    submit = SubmitField("Send application")


class CheckInForm(FlaskForm):
    occurred_at = UTCDateTimeLocalField("When (UTC)", validators=[InputRequired("Enter when you met.")])
    mode = SelectField("How", choices=_choices(CHECKIN_MODES),
                       validators=[InputRequired("Choose how you met.")])
    minutes = WholeNumberField("Minutes", minimum=CHECKIN_MINUTES_MIN, maximum=CHECKIN_MINUTES_MAX,
                               validators=[InputRequired("Enter how many minutes it lasted.")])
    note = TextAreaField("Note (optional)", validators=[
        Optional(), Length(max=2000, message="Keep the note under 2000 characters."),
        plain_text(multiline=True)])
    submit = SubmitField("Log check-in")


def _feedback(label: str) -> TextAreaField:
    return TextAreaField(label, validators=[
        Optional(), Length(max=FEEDBACK_MAX, message=f"Keep this under {FEEDBACK_MAX} characters."),
        plain_text(multiline=True)])


class ExitSurveyForm(FlaskForm):
    stars = RadioField("How would you rate your mentorship?",
                       choices=_choices({str(n): f"{n} star{'s' if n > 1 else ''}"
                                         for n in range(STARS_MIN, STARS_MAX + 1)}),
                       validators=[InputRequired(f"Choose from {STARS_MIN} to {STARS_MAX} stars.")])
    goal_reached = RadioField("Did you reach your goal?", choices=_choices(GOAL_REACHED),
                              validators=[InputRequired("Say whether you reached your goal.")])
    churn_reason = RadioField("What is the main reason you are leaving?", choices=_choices(CHURN_REASONS),
                              validators=[InputRequired("Choose the main reason you are leaving.")])
    feedback_platform = _feedback("What could the platform do better? (optional)")
    feedback_mentor = _feedback("What could your mentor do better? (optional)")
    feedback_other = _feedback("Anything else? (optional)")
    # The cancel flow the survey closes; the page writes its input from the flow it checked.
    flow_id = HiddenField(filters=[optional_id])
    submit = SubmitField("Cancel the mentorship and send")


class HideFeedbackForm(FlaskForm):
    reason = StringField("Why hide it from the mentor?", validators=[
        DataRequired("Say why the comment is hidden."),
        Length(max=200, message="Keep the reason under 200 characters."), plain_text()])


class OptionalRadioField(RadioField):
    """A radio group that may be left empty (data None); any value sent must be one of the choices."""

    def pre_validate(self, form):
        if self.raw_data and self.raw_data[0] != "":
            super().pre_validate(form)

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0] != "":
            super().process_formdata(valuelist)
        else:
            self.data = None


class CancelReasonForm(FlaskForm):
    churn_reason = RadioField("What is the main reason you are leaving?", choices=_choices(CHURN_REASONS),
                              validators=[InputRequired("Choose the main reason you are leaving.")])
    submit = SubmitField("Continue")


class AcceptOfferForm(FlaskForm):
    """Taking the offer: `months` for a pause, `mentor_id` for a switch, neither to keep the plan."""

    months = OptionalRadioField("How long would you like to pause?",
                                choices=[SelectChoice(str(n), f"{n} month{'s' if n > 1 else ''}")
                                         for n in PAUSE_MONTHS])
    mentor_id = WholeNumberField("Mentor", widget=HiddenInput(), validators=[Optional()])


USEFULNESS = {str(n): str(n) for n in range(USEFULNESS_MIN, USEFULNESS_MAX + 1)}
USEFULNESS.update({str(USEFULNESS_MIN): f"{USEFULNESS_MIN} (not useful)",
                   str(USEFULNESS_MAX): f"{USEFULNESS_MAX} (very useful)"})


class PulseForm(FlaskForm):
    period = WholeNumberField("Period", widget=HiddenInput(), minimum=0, maximum=10_000,
                              validators=[InputRequired("The form is missing which month it is for; reload the page.")])
    progress = WholeNumberField("How far along your goal are you, in percent? (optional)", minimum=PROGRESS_MIN,
                                maximum=PROGRESS_MAX, validators=[Optional()])
    usefulness = OptionalRadioField("How useful was the last month? (optional)", choices=_choices(USEFULNESS))
    submit = SubmitField("Send")


class OfferSettingsForm(FlaskForm):
    submit = SubmitField("Save the offers")

    @classmethod
    def reasons(cls) -> list[str]:
        return [reason for reason in CHURN_REASONS if reason not in FIXED_OFFERS]


for _reason in OfferSettingsForm.reasons():
    setattr(OfferSettingsForm, _reason, SelectField(CHURN_REASONS[_reason], choices=_choices(OFFERS)))


EXPERIMENT_OFFERS = {offer: ("No offer (the holdout)" if offer == "none" else label) for offer, label in OFFERS.items()}


class ExperimentForm(FlaskForm):
    """A new offer experiment and its plan; "Work out the sizes" shows the plan without starting it."""

    name = StringField("Name", validators=[InputRequired(message="Give the experiment a name."),
                                           Length(max=120, message="Keep the name under 120 characters."),
                                           plain_text()])
    reason = SelectField("For the reason", choices=_choices(
        {reason: label for reason, label in CHURN_REASONS.items() if reason not in FIXED_OFFERS}))
    offer_a = SelectField("Arm A shows", choices=_choices(EXPERIMENT_OFFERS))
    offer_b = SelectField("Arm B shows", choices=_choices(EXPERIMENT_OFFERS))
    share_b = WholeNumberField("Share of flows sent to arm B (%)", minimum=10, maximum=90, default=50,
                               validators=[InputRequired(message="Say what share of flows goes to arm B.")])
    baseline_percent = PercentField("Expected rate in arm A, 30 days on (%)", minimum=0, maximum=99.9,
                                    validators=[InputRequired(message="Give the rate you expect in arm A.")])
    minimum_effect_points = PercentField("Smallest difference worth finding (percentage points)", minimum=1,
                                         maximum=100, default=10,
                                         validators=[InputRequired(message="Give the smallest difference.")])
    calculate = SubmitField("Work out the sizes")
    start = SubmitField("Start the experiment")


class HandleRiskForm(FlaskForm):
    note = StringField("Note (optional)", validators=[
        Optional(), Length(max=200, message="Keep the note under 200 characters."), plain_text()])


def _known_reason(text: str) -> str | None:
    return text if text in CHURN_REASONS else None


def _star_count(text: str) -> int | None:
    return int(text) if text in {str(n) for n in range(STARS_MIN, STARS_MAX + 1)} else None


def _search_words(text: str) -> str | None:
    return "".join(c for c in text if c.isprintable()).strip()[:100] or None


def page_number(text: str) -> int:
    """A page number from a URL: any text that is not one (0, '-1', '²', 'abc') is page 1."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 5 and int(text) > 0 else 1


class FeedbackFilterForm(FlaskForm):
    """The reading filters of the operators' feedback page, read from the URL (a GET: no CSRF token).
    Construct it with request.args; unknown values are ignored, not an error."""

    class Meta:
        csrf = False

    reason = LenientField(_known_reason)
    stars = LenientField(_star_count)
    q = LenientField(_search_words)
    page = LenientField(page_number, absent="1")


class MailSettingsForm(FlaskForm):
    """One checkbox per optional kind of mail (the page shows those of the person's role)."""

    submit = SubmitField("Save")


for _kind in OPTIONAL_KINDS:
    setattr(MailSettingsForm, _kind, BooleanField(KINDS[_kind].label))


class UnsubscribeForm(FlaskForm):
    """The unsubscribe page's button. The signed link is what authorises it (RFC 8058's one-click
    POST carries no cookie), so this form has no CSRF token."""

    class Meta:
        csrf = False

    submit = SubmitField("Unsubscribe")


class ReviewForm(FlaskForm):
    stars = RadioField("Your rating, for everyone to see",
                       choices=_choices({str(n): f"{n} star{'s' if n > 1 else ''}"
                                         for n in range(STARS_MIN, STARS_MAX + 1)}),
                       validators=[InputRequired(f"Choose from {STARS_MIN} to {STARS_MAX} stars.")])
    text = TextAreaField("Your review", validators=[
        DataRequired("Write a few words."),
        Length(max=TEXT_MAX, message=f"Keep it to {TEXT_MAX:,} characters."), plain_text(multiline=True)])
    naming = RadioField("Show my review as written by", choices=_choices(NAMINGS),
                        validators=[InputRequired("Choose how you want to be named.")])
    consent = BooleanField("I agree that this review, my rating and the name above are shown publicly on "
                           "the mentor's profile", validators=[
                               DataRequired("Tick the box to agree that the review is shown publicly.")])
    submit = SubmitField("Publish the review")


class ReplyForm(FlaskForm):
    text = TextAreaField("Your public reply (you can reply once)", validators=[
        DataRequired("Write a few words."),
        Length(max=REPLY_MAX, message=f"Keep it to {REPLY_MAX:,} characters."), plain_text(multiline=True)])
    submit = SubmitField("Publish the reply")


class ModerateReviewForm(FlaskForm):
    target = SelectField("What", choices=_choices({"review": "The review", "reply": "The mentor's reply"}),
                         validators=[InputRequired("Choose what to hide or show.")])
    action = SelectField("Do", choices=_choices({"hide": "Hide", "show": "Show"}),
                         validators=[InputRequired("Choose hide or show.")])
    reason = SelectField("Reason (content policy)", choices=_choices(MODERATION_REASONS),
                         validators=[InputRequired("Choose a reason from the content policy.")])
    submit = SubmitField("Apply")


def _known_category(text: str) -> str | None:
    return text if text in GOAL_CATEGORIES else None


def _directory_sort(text: str) -> str:
    return text if text in ("rating", "newest", "name") else "rating"


class DirectoryFilterForm(FlaskForm):
    """The mentor directory's search, read from the URL (a GET: no CSRF token); a value that makes no
    sense is ignored, never an error."""

    class Meta:
        csrf = False

    q = LenientField(_search_words)
    expertise = LenientField(_search_words)
    goal_category = LenientField(_known_category)
    sort = LenientField(_directory_sort, absent="rating")
    page = LenientField(page_number, absent="1")


def _role(text: str) -> str | None:
    return text if text in ("mentee", "mentor", "operator") else None


def _state(text: str) -> str | None:
    known = {"application", "trial", "paused", "ended"} | {f"month_{k}" for k in range(1, 13)}
    return text if text in known else None


def _end_reason(text: str) -> str | None:
    return text if text in ("declined", "withdrawn", "cancelled") else None


def _email_text(text: str) -> str | None:
    return "".join(c for c in text if c.isprintable()).strip().lower()[:254] or None


class MentorshipSearchForm(FlaskForm):
    """The operators' mentorship list, read from the URL; a value that makes no sense is ignored."""

    class Meta:
        csrf = False

    q = LenientField(_search_words)
    state = LenientField(_state)
    end_reason = LenientField(_end_reason)
    goal_category = LenientField(_known_category)
    mentor = LenientField(_email_text)
    page = LenientField(page_number, absent="1")


class UserSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = LenientField(_search_words)
    role = LenientField(_role)
    page = LenientField(page_number, absent="1")


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = LenientField(lambda text: text if text.isidentifier() and len(text) <= 40 else None)
    actor = LenientField(_email_text)
    page = LenientField(page_number, absent="1")


class EraseForm(FlaskForm):
    confirm = StringField("Type the person's email to confirm", validators=[
        DataRequired("Type the email to confirm."), Length(max=254), plain_text()])
    submit = SubmitField("Erase this person's data")


class ResetPasswordForm(FlaskForm):
    password = _password_field("New password")
    confirm = PasswordField("Repeat the password", validators=[
        DataRequired("Repeat the password."), EqualTo("password", "The two passwords differ.")])
    submit = SubmitField("Set the password")
