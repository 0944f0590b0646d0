"""Form data a member of staff would enter at each step, for tests that walk whole cases."""

from typing import Any

APPLICATION = {
    "surname": "Шевченко", "first_name": "Марія", "patronymic": "Іванівна",
    "address": "м. Житомир, вул. Велика Бердичівська, 10, кв. 5", "phone": "+38 (050) 123-45-67",
    "request": "Прошу надати адресну соціальну допомогу у зв'язку з оперативним лікуванням",
    "reason": "surgery", "documents": ["Довідка про склад сім’ї", "Копія паспорта та ідентифікаційного номера"],
    "family_members": 2, "total_income_3m": 12000, "able_bodied_not_working": False,
    "obligation_to_report_changes": True, "personal_data_consent": True,
}

ADDRESS_AID_STEPS: dict[str, dict[str, Any]] = {
    "accept_documents": {"package_complete": True},
    "form_personal_file": {"personal_file_number": "ОС-17", "inspection_date": "2026-02-03",
                           "living_conditions_act": "Умови проживання задовільні"},
    "register_application": {"appeals_registration_number": "З-1042", "appeals_registration_date": "2026-02-05"},
    "send_to_director": {"transferred_on": "2026-02-06"},
    "director_resolution": {"approved": True, "resolution": "Розглянути на комісії"},
    "send_to_executor": {"executor_name": "Петренко О. В.", "transferred_on": "2026-02-09"},
    "prepare_commission_materials": {"commission_date": "2026-02-10"},
    "prepare_commission_minutes": {"minutes_number": "5", "minutes_date": "2026-02-10",
                                   "commission_recommendation": "grant", "recommended_amount": 3000},
    "draft_committee_decision": {"draft_summary": "Надати допомогу 3000 грн"},
    "endorse_draft_decision": {"endorsed": True},
    "record_committee_decision": {"decision": "granted", "decision_number": "123", "decision_date": "2026-02-18",
                                  "aid_amount": 3000},
    "prepare_payment_registers": {"register_number": "Р-7", "register_date": "2026-02-19", "amount": 3000},
    "notify_applicant": {"notified_on": "2026-02-20", "notification_method": "post"},
}

REFUSED = {"decision": "refused", "decision_number": "124", "decision_date": "2026-02-18",
           "refusal_ground": "income_above_limit"}

ROADMAP_APPLICATION = {
    "surname": "Коваленко", "first_name": "Ірина", "birth_date": "1980-05-01", "id_document": "АБ123456",
    "address": "м. Житомир, пл. Польова, 1", "phone": "0501234567", "channel": "in_person",
    "circumstances": ["family_member_with_disability"], "situation_description": "Потрібен догляд вдома після інсульту",
    "crisis": False, "violence_or_threat": False, "documents": ["Паспорт/ID картка"], "personal_data_consent": True,
}

ROADMAP_STEPS: dict[str, dict[str, Any]] = {
    "register_application": {"eisss_number": "ЄІССС-2026-1", "assessment_provider": "territorial_center"},
    "assess_needs": {"assessment_date": "2026-02-04", "life_situation": "Самотня, після інсульту",
                     "difficulties": "Не може обслуговувати себе", "risks": "Погіршення здоров'я",
                     "needs": "Догляд вдома"},
    "decide": {"decision": "provide", "decision_date": "2026-02-05", "services": [1, 5]},
    "notify_decision": {"notified_on": "2026-02-06", "method": "phone"},
    "draft_individual_plan": {"plan_summary": "Догляд вдома 3 рази на тиждень"},
    "sign_contract": {"contract_number": "Д-11", "contract_date": "2026-02-09"},
    "deliver_service": {"provider_id": "territorial_center", "delivered_on": "2026-02-10"},
}
