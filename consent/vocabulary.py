"""Reference vocabulary shared by every part of the gateway (PRODUCT.md §1 and §5)."""

from __future__ import annotations

from enum import StrEnum


class AgencyKind(StrEnum):
    """The four kinds of agency that share case data, each under its own law."""

    FOREIGNERS_OFFICE = "foreigners_office"  # Ausländerbehörde, AufenthG
    JOB_CENTRE = "job_centre"  # Jobcenter, SGB II
    YOUTH_WELFARE_OFFICE = "youth_welfare_office"  # Jugendamt, SGB VIII
    SOCIAL_OFFICE = "social_office"  # Sozialamt, SGB XII and AsylbLG


class Purpose(StrEnum):
    CASE_MANAGEMENT = "case_management"
    LABOUR_MARKET_INTEGRATION = "labour_market_integration"
    BENEFIT_ENTITLEMENT = "benefit_entitlement"
    CHILD_AND_YOUTH_WELFARE = "child_and_youth_welfare"
    RESIDENCE_PROCEDURE = "residence_procedure"


class Category(StrEnum):
    RESIDENCE_STATUS = "residence_status"
    BENEFIT_STATUS = "benefit_status"
    INTEGRATION_MEASURES = "integration_measures"
    YOUTH_WELFARE_SUPPORT = "youth_welfare_support"
    CASE_CONTACT = "case_contact"
    CASE_CONFERENCE = "case_conference"
