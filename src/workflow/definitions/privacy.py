"""The privacy section of a definition: consent scopes, the guardian rule, retention.

See docs/privacy.md for how the service layer uses them.
"""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictInt

from workflow.definitions.types import Identifier, StrictModel, Text


class DataCategory(StrictModel):
    """A kind of personal data a consent can cover (e.g. health, school, family)."""

    id: Identifier
    name: Text
    description: Text | None = None


class Retention(StrictModel):
    """How long a closed case is kept; nothing is deleted without an explicit command."""

    delete_closed_after_years: StrictInt | None = Field(
        default=None,
        ge=1,
        le=100,
        description=(
            "Years after closing that a case MAY be deleted (by `workflow retention delete`, "
            "with the archive's authorisation). Leave out to keep every case."
        ),
    )
    keep_minors: StrictBool = Field(
        default=True,
        description=(
            "Keep in full the cases of young people who were under 18 when the case was "
            "opened (children's case files are archived, never deleted)."
        ),
    )


class Privacy(StrictModel):
    """What consents cover, when a guardian must consent too, and how long cases are kept."""

    data_categories: list[DataCategory] = Field(
        default_factory=list,
        description="The kinds of data a consent can name (its scope besides departments).",
    )
    guardian_consent_under: StrictInt | None = Field(
        default=None,
        ge=0,
        le=40,
        description=(
            "Below this age (at the consent's date) a custodial parent must consent too. "
            "Leave out if the young person's own consent is enough at every age."
        ),
    )
    retention: Retention = Field(
        default_factory=Retention, description="How long closed cases are kept."
    )
