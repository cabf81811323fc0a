"""Synthetic documents of each demo doc_type, built from `vocab` with a seeded random.Random.

Each builder returns a `Doc` (pieces with typed PHI) and a small meta dict. The text looks like
the real thing: clinical notes with SOAP sections under the headers the tokenizer reserves
([HISTORY], [MEDICATIONS], [ALLERGIES], [FINDINGS], [ASSESSMENT], [PLAN]), radiology reports
with [FINDINGS] and [IMPRESSION], discharge summaries and pharmacology reviews. Enough of every
document is drawn at random (values, phrasings, order, PHI) that two independent documents are
never near-duplicates; tests check that on the whole corpus.
"""

from __future__ import annotations

import datetime as dt
import random

from data_tools import phi, vocab
from data_tools.pieces import Doc, Phi, Value


# --- shared helpers ----------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:g}"


def dose_text(rng: random.Random, drug: str) -> str:
    """'metoprolol succinate 50 mg PO daily', from the drug's dosing table."""
    if drug not in vocab.DOSING:
        return drug
    strengths, unit, frequencies, route = vocab.DOSING[drug]
    strength = rng.choice(strengths)
    strength = _number(strength) if isinstance(strength, (int, float)) else strength
    amount = f"{strength} {unit}".strip()
    frequency = rng.choice(frequencies)
    route_text = "" if route in frequency else f" {route}"
    return f"{drug} {amount}{route_text} {frequency}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _lab_value(rng: random.Random, low: float, high: float, decimals: int) -> str:
    return f"{rng.uniform(low, high):.{decimals}f}"


class Patient:
    """The facts one document is about, drawn once so the text stays self-consistent."""

    def __init__(self, rng: random.Random, visit: dt.date) -> None:
        self.person = phi.Person(rng)
        self.sex = rng.choice(("male", "female"))
        self.title = "Mr." if self.sex == "male" else "Ms."
        self.pronoun = "He" if self.sex == "male" else "She"
        self.possessive = "His" if self.sex == "male" else "Her"
        self.very_old = rng.random() < 0.06
        self.age_value = rng.randint(90, 103) if self.very_old else rng.randint(19, 89)
        self.visit = visit
        self.conditions = rng.sample(vocab.CHRONIC_CONDITIONS, k=rng.randint(1, 4))
        self.home_meds: list[str] = []
        for _, drugs in self.conditions:
            if drugs:
                for drug in rng.sample(drugs, k=min(len(drugs), rng.randint(1, 2))):
                    if drug not in self.home_meds:
                        self.home_meds.append(drug)
        self.allergies = rng.sample(vocab.ALLERGENS, k=rng.choice((0, 0, 1, 1, 2)))

    def age(self) -> str | Phi:
        """Ages over 89 are PHI; younger ages are plain text."""
        return Phi("AGE", str(self.age_value)) if self.very_old else str(self.age_value)

    def condition_names(self) -> list[str]:
        return [name for name, _ in self.conditions]

    def dob(self, rng: random.Random) -> Phi:
        return phi.birth_date(rng, self.age_value, self.visit)

    def referred_to(self, rng: random.Random) -> str | Phi:
        """How the note names the patient in running text: sometimes by surname (PHI)."""
        return self.person.surname() if rng.random() < 0.5 else ""


def _patient_reference(doc: Doc, rng: random.Random, patient: Patient) -> None:
    surname = patient.referred_to(rng)
    if surname:
        doc.fill("{title} {name}", title=patient.title, name=surname)
    else:
        doc.text(rng.choice(("The patient", "This patient", "Patient")))


def _header_block(doc: Doc, rng: random.Random, patient: Patient, title: str, facility: Phi) -> None:
    provider = phi.Person(rng)
    visit = phi.date(rng, patient.visit)
    if rng.random() < 0.5:
        doc.fill(
            "{facility}\n{title}\n\nPatient: {name}    MRN: {mrn}\nDOB: {dob}    Date of service: {visit}\n"
            "Provider: Dr. {provider}\n",
            facility=facility,
            title=title,
            name=patient.person.last_first(),
            mrn=phi.mrn(rng),
            dob=patient.dob(rng),
            visit=visit,
            provider=provider.full(),
        )
    else:
        doc.fill(
            "{title} - {facility}\nName: {name} | Medical record number: {mrn} | Visit date: {visit}\n"
            "Date of birth: {dob}\nAttending physician: {provider}, MD\n",
            title=title,
            facility=facility,
            name=patient.person.full(),
            mrn=phi.mrn(rng),
            visit=visit,
            dob=patient.dob(rng),
            provider=provider.full(),
        )
    if rng.random() < 0.35:
        doc.fill(
            "Address: {address}\nPhone: {phone}\nEmail: {email}\n",
            address=phi.address(rng),
            phone=phi.phone(rng),
            email=patient.person.email(rng),
        )
    if rng.random() < 0.12:
        doc.fill(
            "SSN: {ssn}    Insurance: {plan}\n",
            ssn=phi.ssn(rng),
            plan=rng.choice(("Medicare", "Medicaid", "commercial PPO", "commercial HMO", "self-pay")),
        )
    doc.text("\n")


_NEGATIVES = (
    "Denies chest pain.",
    "No hemoptysis.",
    "Denies recent travel or sick contacts.",
    "No weight loss or night sweats.",
    "Denies abdominal pain, nausea or vomiting.",
    "No focal weakness or numbness.",
    "Denies dysuria or hematuria.",
    "No syncope.",
    "No melena or hematochezia.",
    "Denies headache or vision changes.",
    "No rash.",
    "Denies palpitations.",
    "No recent antibiotic use.",
    "No falls at home.",
)
_TIMING = ("{n} days", "{n} weeks", "about {n} days", "the past {n} days", "{n} to {m} days")
_QUALIFIERS = (
    "that started gradually",
    "that began suddenly",
    "worse at night",
    "worse with exertion",
    "rated {n}/10 in severity",
    "partially relieved by rest",
    "not improved with over-the-counter remedies",
    "associated with fatigue",
)
_ASSESSMENT_REASONS = (
    "Presentation and examination are most consistent with {dx}.",
    "Clinical picture favors {dx}; alternative diagnoses considered include {alt}.",
    "Findings support {dx}. Low suspicion for {alt} given the examination.",
    "Working diagnosis is {dx}, with {alt} less likely.",
)
_CHRONIC_STATUS = (
    "stable",
    "well controlled on current therapy",
    "suboptimally controlled",
    "improved since last visit",
    "at goal",
    "worsening; will adjust therapy",
)
_EDUCATION = (
    "Discussed the diagnosis, expected course and warning signs with the patient.",
    "Medication side effects were reviewed and written instructions provided.",
    "Patient was counseled on smoking cessation and offered nicotine replacement.",
    "Reviewed the importance of adherence and use of a pill organizer.",
    "Shared decision-making regarding the treatment options was documented.",
    "Advised to keep a symptom diary and bring it to the next visit.",
    "Vaccination status reviewed; influenza vaccine offered today.",
    "Fall precautions reviewed with the patient and family.",
)


def _fill_numbers(rng: random.Random, template: str, **extra: str) -> str:
    n = rng.randint(2, 12)
    return template.format(
        n=n,
        m=n + rng.randint(1, 5),
        g=rng.randint(1, 4),
        side=rng.choice(("left", "right")),
        Side=rng.choice(("Left", "Right")),
        job=rng.choice(vocab.JOBS),
        **extra,
    )


def _vitals(doc: Doc, rng: random.Random, febrile: bool) -> None:
    temperature = rng.uniform(38.0, 39.6) if febrile else rng.uniform(36.3, 37.4)
    doc.fill(
        "Vital signs: temperature {t} C, blood pressure {bp} mmHg, heart rate {hr}, "
        "respiratory rate {rr}, oxygen saturation {spo2}% on {o2}.\n",
        t=Value(f"{temperature:.1f}"),
        bp=Value(f"{rng.randint(96, 178)}/{rng.randint(54, 102)}"),
        hr=Value(str(rng.randint(54, 124))),
        rr=Value(str(rng.randint(12, 28))),
        spo2=Value(str(rng.randint(88, 100))),
        o2=rng.choice(("room air", "room air", f"{rng.randint(2, 4)} L nasal cannula")),
    )


def _exam(doc: Doc, rng: random.Random) -> None:
    systems = rng.sample(vocab.EXAM_SYSTEMS, k=rng.randint(5, len(vocab.EXAM_SYSTEMS)))
    for name, findings in systems:
        doc.sentence(f"{name}: {_fill_numbers(rng, rng.choice(findings))}", end="\n")


def _labs(doc: Doc, rng: random.Random) -> None:
    tests = rng.sample(vocab.LAB_TESTS, k=rng.randint(3, 8))
    doc.text("Labs: ")
    for index, (name, unit, low, high, decimals) in enumerate(tests):
        doc.fill(
            "{name} {value}{unit}",
            name=name,
            value=Value(_lab_value(rng, low, high, decimals)),
            unit=f" {unit}" if unit else "",
        )
        doc.text(", " if index < len(tests) - 1 else ".\n")


def _medication_list(doc: Doc, rng: random.Random, drugs: list[str]) -> None:
    if not drugs:
        doc.text("No regular medications.\n")
    for index, drug in enumerate(drugs, 1):
        doc.text(f"{index}. {dose_text(rng, drug)}\n")


def _allergy_list(doc: Doc, rng: random.Random, allergies: list[str]) -> None:
    if not allergies:
        doc.text(rng.choice(("No known drug allergies.\n", "NKDA.\n", "No known allergies.\n")))
    for allergen in allergies:
        doc.text(f"{allergen.capitalize()} ({rng.choice(vocab.REACTIONS)}).\n")


def _signature(doc: Doc, rng: random.Random, visit: dt.date) -> None:
    signer = phi.Person(rng)
    doc.fill("\nElectronically signed by Dr. {name}, MD on {date}.", name=signer.full(), date=phi.date(rng, visit))
    if rng.random() < 0.5:
        doc.fill(" Office: {phone}. Fax: {fax}.", phone=phi.phone(rng), fax=phi.phone(rng, "FAX"))
    doc.text("\n")


# --- clinical notes ------------------------------------------------------------------------


def clinical_note(rng: random.Random) -> tuple[Doc, dict]:
    patient = Patient(rng, phi.random_day(rng, 2019, 2025))
    specialty = rng.choice(vocab.SPECIALTIES)
    acute = rng.random() < 0.7
    presentation = rng.choice(vocab.ACUTE_PRESENTATIONS) if acute else None
    doc = Doc()
    _header_block(
        doc,
        rng,
        patient,
        f"{specialty} {rng.choice(('Clinic Note', 'Progress Note', 'Office Visit'))}",
        Phi("HOSPITAL", rng.choice(vocab.FACILITIES)),
    )

    doc.text("[HISTORY]\n")
    chronic = patient.condition_names()
    if presentation:
        complaint, symptoms, diagnosis, treatments = presentation
        duration = _fill_numbers(rng, rng.choice(_TIMING))
    else:
        complaint = f"follow-up of {chronic[0]}"
        symptoms, diagnosis, treatments, duration = (), chronic[0], (), ""
    doc.text(f"Chief complaint: {complaint}.\nHistory of present illness: ")
    _patient_reference(doc, rng, patient)
    doc.fill(
        " is a {age}-year-old {sex} with a history of {history}",
        age=patient.age(),
        sex=patient.sex,
        history=_join(chronic),
    )
    if presentation:
        doc.text(f" who presents with {duration} of {complaint}. ")
        for symptom in rng.sample(symptoms, k=rng.randint(2, len(symptoms))):
            qualifier = _fill_numbers(rng, rng.choice(_QUALIFIERS))
            doc.sentence(f"{patient.pronoun} reports {symptom}, {qualifier}.")
        for negative in rng.sample(_NEGATIVES, k=rng.randint(2, 4)):
            doc.sentence(negative)
        if rng.random() < 0.4:
            doc.fill(
                "{pronoun} was seen at an urgent care on {date} and given {drug} without improvement. ",
                pronoun=patient.pronoun,
                date=phi.date(rng, patient.visit - dt.timedelta(days=rng.randint(2, 9))),
                drug=rng.choice(tuple(vocab.DOSING)),
            )
    else:
        doc.text(" who returns for routine follow-up. ")
        doc.sentence(
            f"{patient.pronoun} reports {rng.choice(('good', 'fair', 'variable'))} adherence "
            f"to medications and {rng.choice(('no', 'occasional', 'rare'))} side effects."
        )
        doc.sentence(_fill_numbers(rng, "Home readings over the last {n} weeks were reviewed."))
    doc.text("\nPast medical history: " + "; ".join(chronic) + ".\n")
    if rng.random() < 0.5:
        doc.fill(
            "Past surgical history: {procedure} on {date}.\n",
            procedure=rng.choice(vocab.PROCEDURES),
            date=phi.date(rng, phi.random_day(rng, 1995, 2018)),
        )
    doc.sentence("Social history: " + _fill_numbers(rng, rng.choice(vocab.SOCIAL_HISTORY)), end="\n")
    doc.sentence(
        "Family history: "
        + rng.choice(vocab.FAMILY_HISTORY).format(
            a=rng.choice(vocab.FAMILY_CONDITIONS),
            b=rng.choice(vocab.FAMILY_CONDITIONS),
            n=rng.randint(55, 88),
            d=rng.choice((40, 50, 60)),
        ),
        end="\n",
    )

    doc.text("\n[MEDICATIONS]\n")
    _medication_list(doc, rng, patient.home_meds)
    doc.text("\n[ALLERGIES]\n")
    _allergy_list(doc, rng, patient.allergies)

    doc.text("\n[FINDINGS]\n")
    _vitals(doc, rng, febrile=bool(presentation) and "fever" in " ".join(symptoms + (complaint,)))
    _exam(doc, rng)
    _labs(doc, rng)

    doc.text("\n[ASSESSMENT]\n")
    doc.fill("{age}-year-old {sex} with {complaint}. ", age=patient.age(), sex=patient.sex, complaint=complaint)
    others = [p[2] for p in vocab.ACUTE_PRESENTATIONS if p[2] != diagnosis]
    doc.sentence(rng.choice(_ASSESSMENT_REASONS).format(dx=diagnosis, alt=rng.choice(others)))
    for name in chronic:
        doc.sentence(f"{name.capitalize()}: {rng.choice(_CHRONIC_STATUS)}.", end="\n")

    doc.text("\n[PLAN]\n")
    step = 1
    for drug in rng.sample(treatments, k=min(len(treatments), rng.randint(1, 2))):
        doc.text(f"{step}. Start {dose_text(rng, drug)}.\n")
        step += 1
    if patient.home_meds:
        doc.text(f"{step}. Continue {_join(patient.home_meds)}.\n")
        step += 1
    for line in rng.sample(vocab.FOLLOW_UP, k=rng.randint(1, 3)):
        text = _fill_numbers(
            rng,
            line,
            sym=rng.choice(("fever", "worsening shortness of breath", "chest pain", "confusion", "bleeding")),
            spec=rng.choice(vocab.SPECIALTIES),
        )
        doc.sentence(f"{step}. {text}", end="\n")
        step += 1
    for sentence in rng.sample(_EDUCATION, k=rng.randint(1, 2)):
        doc.sentence(sentence)
    _signature(doc, rng, patient.visit)
    return doc, {"specialty": specialty}


# --- radiology -----------------------------------------------------------------------------

_TECHNIQUE = (
    "Standard departmental protocol.",
    "Images obtained at {n} mm slice thickness.",
    "Two views obtained.",
    "Single portable view obtained at the bedside.",
    "Multiplanar reformats reviewed.",
    "Dose reduction technique used; DLP {n}{m}0 mGy-cm.",
)


def radiology_report(rng: random.Random) -> tuple[Doc, dict]:
    patient = Patient(rng, phi.random_day(rng, 2018, 2025))
    study, normal, abnormal = rng.choice(vocab.IMAGING_STUDIES)
    study = _fill_numbers(rng, study)
    doc = Doc()
    doc.fill(
        "{facility}, Department of Radiology\nPatient: {name}    MRN: {mrn}    Exam date: {date}\n",
        facility=Phi("HOSPITAL", rng.choice(vocab.FACILITIES)),
        name=rng.choice((patient.person.full(), patient.person.last_first())),
        mrn=phi.mrn(rng),
        date=phi.date(rng, patient.visit),
    )
    doc.fill(
        "EXAMINATION: {study}\nINDICATION: {age}-year-old {sex} with {indication}",
        study=study,
        age=patient.age(),
        sex=patient.sex,
        indication=_join(rng.sample(vocab.RADIOLOGY_INDICATIONS, k=rng.randint(1, 2))),
    )
    if rng.random() < 0.5:
        doc.text(f" and a history of {rng.choice(patient.condition_names())}")
    doc.text(".\n")
    if rng.random() < 0.5:
        doc.fill(
            "COMPARISON: Prior study dated {date}.\n",
            date=phi.date(rng, patient.visit - dt.timedelta(days=rng.randint(30, 900))),
        )
    else:
        doc.text("COMPARISON: None available.\n")
    doc.sentence("TECHNIQUE: " + _fill_numbers(rng, rng.choice(_TECHNIQUE)), end="\n")

    doc.text("\n[FINDINGS]\n")
    chosen = rng.sample(abnormal, k=min(len(abnormal), rng.choice((0, 1, 1, 2))))
    findings = [_fill_numbers(rng, sentence) for sentence in rng.sample(normal, k=rng.randint(2, len(normal)))]
    impressions = []
    for finding, impression in chosen:
        side = rng.choice(("left", "right"))
        filled = {"n": rng.randint(3, 14), "side": side, "Side": side.capitalize()}
        findings.insert(rng.randint(0, len(findings)), finding.format(**filled))
        impressions.append(impression.format(**filled))
    for sentence in findings:
        doc.sentence(sentence)
    if rng.random() < 0.5:
        doc.fill("Measurement for reference: {value} cm. ", value=Value(f"{rng.uniform(0.4, 9.5):.1f}"))
    doc.text("\n\n[IMPRESSION]\n")
    if not impressions:
        impressions = [
            rng.choice(("No acute abnormality.", "No acute findings.", "Normal study.", "No acute process identified."))
        ]
    for index, impression in enumerate(impressions, 1):
        doc.sentence(f"{index}. {impression}", end="\n")
    if rng.random() < 0.3:
        doc.sentence(
            _fill_numbers(rng, "Follow-up imaging in {n} weeks is suggested if clinically indicated."), end="\n"
        )
    reader = phi.Person(rng)
    doc.fill("Dictated by: Dr. {name}    Signed: {date}\n", name=reader.full(), date=phi.date(rng, patient.visit))
    return doc, {"modality": study.split(",")[0].split(" ")[0]}


# --- discharge summaries ---------------------------------------------------------------------

_UNITS = ("medical floor", "telemetry unit", "intensive care unit", "step-down unit", "observation unit")
_COURSE = (
    "{Pronoun} was started on {drug} with steady clinical improvement.",
    "Symptoms improved over {n} days and {pronoun} was transitioned to oral therapy.",
    "Creatinine peaked at {cr} and returned to {cr2} with hydration.",
    "Cultures were obtained prior to antibiotics; blood cultures showed no growth at {n} days.",
    "Physical therapy evaluated {possessive} mobility and recommended a rolling walker.",
    "{Pronoun} was monitored on telemetry without arrhythmia.",
    "Pain was controlled with acetaminophen as needed.",
    "Repeat labs on the day of discharge were notable for hemoglobin {hb}.",
    "Diet was advanced as tolerated without nausea.",
)


def discharge_summary(rng: random.Random) -> tuple[Doc, dict]:
    discharge = phi.random_day(rng, 2019, 2025)
    patient = Patient(rng, discharge)
    length_of_stay = rng.randint(2, 14)
    complaint, symptoms, diagnosis, treatments = rng.choice(vocab.ACUTE_PRESENTATIONS)
    doc = Doc()
    attending, pcp = phi.Person(rng), phi.Person(rng)
    doc.fill(
        "DISCHARGE SUMMARY\n{facility}\nPatient name: {name}    MRN: {mrn}\n"
        "Admission date: {admitted}    Discharge date: {discharged}\n"
        "Attending: Dr. {attending}    Primary care: Dr. {pcp}\n\n",
        facility=Phi("HOSPITAL", rng.choice(vocab.FACILITIES)),
        name=patient.person.last_first(),
        mrn=phi.mrn(rng),
        admitted=phi.date(rng, discharge - dt.timedelta(days=length_of_stay)),
        discharged=phi.date(rng, discharge),
        attending=attending.full(),
        pcp=pcp.full(),
    )
    doc.text("[HISTORY]\n")
    doc.text(f"Principal diagnosis: {diagnosis}.\nSecondary diagnoses: {'; '.join(patient.condition_names())}.\n")
    _patient_reference(doc, rng, patient)
    doc.fill(
        " is a {age}-year-old {sex} admitted with {complaint}", age=patient.age(), sex=patient.sex, complaint=complaint
    )
    doc.text(f", presenting with {_join(rng.sample(symptoms, k=2))}. ")
    doc.text(f"\nHospital course: admitted to the {rng.choice(_UNITS)}. ")
    pronoun = patient.pronoun
    for line in rng.sample(_COURSE, k=rng.randint(4, 7)):
        doc.sentence(
            line.format(
                Pronoun=pronoun,
                pronoun=pronoun.lower(),
                possessive=patient.possessive.lower(),
                drug=dose_text(rng, rng.choice(treatments)),
                n=rng.randint(2, 6),
                cr=_lab_value(rng, 1.4, 3.2, 1),
                cr2=_lab_value(rng, 0.7, 1.3, 1),
                hb=_lab_value(rng, 8.5, 13.9, 1),
            )
        )
    if rng.random() < 0.4:
        doc.fill(
            "{procedure} was performed on {date} without complication. ",
            procedure=rng.choice(vocab.PROCEDURES).capitalize(),
            date=phi.date(rng, discharge - dt.timedelta(days=rng.randint(1, length_of_stay))),
        )
    doc.text(f"\nConsultants: {_join(rng.sample(vocab.SPECIALTIES, k=rng.randint(1, 2)))}.\n")

    doc.text("\n[MEDICATIONS]\nDischarge medications:\n")
    new = rng.sample(treatments, k=1)
    for index, drug in enumerate(new + [d for d in patient.home_meds if d not in new], 1):
        status = "NEW" if drug in new else rng.choice(("CONTINUE", "CONTINUE", "CHANGED"))
        doc.text(f"{index}. {status}: {dose_text(rng, drug)}\n")
    doc.text("\n[ALLERGIES]\n")
    _allergy_list(doc, rng, patient.allergies)

    doc.text("\n[FINDINGS]\n")
    _vitals(doc, rng, febrile=False)
    doc.sentence(f"Condition at discharge: {rng.choice(('stable', 'improved', 'good', 'fair'))}.", end="\n")
    doc.sentence(
        f"Disposition: {rng.choice(('home', 'home with home health', 'skilled nursing facility', 'acute rehabilitation'))}.",
        end="\n",
    )

    doc.text("\n[PLAN]\n")
    doc.fill(
        "Follow up with Dr. {pcp} on {date}.",
        pcp=pcp.surname(),
        date=phi.date(rng, discharge + dt.timedelta(days=rng.randint(5, 21))),
    )
    doc.fill(" Questions after discharge: call {phone}.\n", phone=phi.phone(rng))
    for line in rng.sample(vocab.FOLLOW_UP, k=rng.randint(1, 2)):
        doc.sentence(
            _fill_numbers(
                rng, line, sym="fever, chest pain or shortness of breath", spec=rng.choice(vocab.SPECIALTIES)
            ),
            end="\n",
        )
    doc.sentence(
        rng.choice(
            (
                "Activity as tolerated.",
                "No driving while taking opioid pain medication.",
                "Low-sodium diet.",
                "Carbohydrate-consistent diet.",
            )
        ),
        end="\n",
    )
    _signature(doc, rng, discharge)
    return doc, {"length_of_stay_days": length_of_stay}


# --- pharmacology ----------------------------------------------------------------------------

_INDICATION_OF = {drug: name for name, drugs in vocab.CHRONIC_CONDITIONS for drug in drugs}
_INDICATION_OF.update({drug: dx for _, _, dx, drugs in vocab.ACUTE_PRESENTATIONS for drug in drugs})
_MONITORING = (
    "renal function",
    "serum potassium",
    "liver enzymes",
    "complete blood count",
    "INR",
    "blood pressure",
    "heart rate",
    "serum drug levels",
    "thyroid function",
    "blood glucose",
)
_REVIEW_TITLES = (
    "Clinical pharmacology review",
    "Formulary monograph summary",
    "Drug information note",
    "Pharmacotherapy teaching notes",
    "Medication safety bulletin",
)


def pharmacology_text(rng: random.Random) -> tuple[Doc, dict]:
    drugs = rng.sample(sorted(vocab.DRUG_CLASSES), k=rng.randint(2, 4))
    doc = Doc()
    doc.text(f"{rng.choice(_REVIEW_TITLES)}: {_join(drugs)}\n\n")
    for drug in drugs:
        drug_class, mechanism, adverse, interactions = vocab.DRUG_CLASSES[drug]
        doc.text(f"{drug.capitalize()}\n")
        doc.sentence(f"{drug.capitalize()} is a {drug_class} that {mechanism}.")
        if drug in _INDICATION_OF:
            doc.sentence(f"It is used in the management of {_INDICATION_OF[drug]}.")
        if drug in vocab.DOSING:
            doc.sentence(f"A typical adult regimen is {dose_text(rng, drug)}.")
        for fact in rng.sample(vocab.PHARMACOKINETIC_FACTS, k=rng.randint(2, 4)):
            n = rng.randint(1, 6)
            doc.sentence(
                fact.format(
                    p=rng.randint(20, 99),
                    h=rng.randint(2, 60),
                    n=n,
                    m=n + rng.randint(1, 4),
                    c=rng.choice((15, 30, 45, 60)),
                )
            )
        effects = rng.sample(adverse, k=min(len(adverse), rng.randint(2, 3)))
        doc.sentence(
            f"{rng.choice(('Common adverse effects include', 'Adverse effects to monitor for include', 'Notable adverse effects are'))} {_join(effects)}."
        )
        partner = rng.choice(interactions)
        doc.sentence(
            f"Use with {partner} {rng.choice(('requires close monitoring', 'should be avoided when possible', 'may require a dose adjustment', 'increases the risk of toxicity'))}."
        )
        doc.sentence(
            f"Monitor {_join(rng.sample(_MONITORING, k=2))} {rng.choice(('at baseline and periodically', 'every 3 to 6 months', 'after each dose change', 'within 1 to 2 weeks of starting'))}."
        )
        doc.text("\n\n")
    return doc, {"drugs": drugs}


# --- evaluation questions (the demo's decontamination targets) -------------------------------

_SETTINGS = (
    "comes to the emergency department",
    "comes to the physician",
    "is brought to the clinic",
    "presents to urgent care",
    "is evaluated in the office",
)
_DX_STEMS = (
    "Which of the following is the most likely diagnosis?",
    "Which of the following best explains these findings?",
    "What is the most likely cause of this patient's condition?",
)
_MOA_STEMS = (
    "Which of the following best describes the mechanism of action of this medication?",
    "This drug most likely exerts its effect by which of the following mechanisms?",
)


def evaluation_question(rng: random.Random) -> dict:
    """A four-option multiple-choice item like MedQA's, with its flattened `text`."""
    age, sex = rng.randint(19, 85), rng.choice(("man", "woman"))
    if rng.random() < 0.6:
        complaint, symptoms, answer, _ = rng.choice(vocab.ACUTE_PRESENTATIONS)
        distractors = rng.sample([p[2] for p in vocab.ACUTE_PRESENTATIONS if p[2] != answer], k=3)
        question = (
            f"A {age}-year-old {sex} {rng.choice(_SETTINGS)} because of {complaint} for "
            f"{rng.randint(2, 9)} days. The patient describes {_join(rng.sample(symptoms, k=2))}. "
            f"Temperature is {rng.uniform(36.5, 39.5):.1f} C, pulse is {rng.randint(60, 125)}/min, "
            f"and blood pressure is {rng.randint(100, 170)}/{rng.randint(60, 100)} mm Hg. "
            f"{rng.choice(_DX_STEMS)}"
        )
    else:
        drug = rng.choice(sorted(vocab.DRUG_CLASSES))
        answer = vocab.DRUG_CLASSES[drug][1]
        others = [v[1] for d, v in sorted(vocab.DRUG_CLASSES.items()) if d != drug]
        distractors = rng.sample(others, k=3)
        indication = _INDICATION_OF.get(drug, "a chronic condition")
        question = (
            f"A {age}-year-old {sex} with {indication} is started on {drug} after a "
            f"discussion of {rng.choice(('risks and benefits', 'treatment goals', 'alternatives'))} "
            f"{rng.randint(2, 8)} weeks ago. {rng.choice(_MOA_STEMS)}"
        )
    options = distractors + [answer]
    rng.shuffle(options)
    letters = "ABCD"
    answer_idx = letters[options.index(answer)]
    option_map = dict(zip(letters, options))
    text = question + "\n" + "\n".join(f"{letter}. {option}" for letter, option in option_map.items())
    return {"question": question, "options": option_map, "answer_idx": answer_idx, "answer": answer, "text": text}


BUILDERS = {
    "clinical_notes": clinical_note,
    "radiology": radiology_report,
    "discharge_summaries": discharge_summary,
    "pharmacology": pharmacology_text,
}
