"""The templates: sentences, header lines, signatures and phone messages written the way nurses,
residents, radiologists and clerks write them, with PHI slots in braces.

Slot syntax: ``{slot}`` or ``{slot:form}``. People: ``pt`` (patient), ``rel``/``rel2`` (relatives),
``md``/``md2`` (physicians), ``rn``/``st`` (other staff); their form is one of forms.NAME_FORMS /
STAFF_FORMS ("any" when omitted). ``relw``/``Relw`` is the relation word ("wife"), ``he``/``He``/
``his``/``His``/``him``/``man`` follow the patient's sex. Dates: ``date`` (around the visit),
``date2`` (days after it), ``past`` (months to years before), ``dob``; form from forms.DATE_FORMS.
``age`` is an age over 89 (PHI), ``negage`` one of 89 or under (a decoy). ``neg:KIND`` is a decoy
number that must NOT be marked (blood pressure, pain score, vent settings, ...).

Each string below is one template; ``count_templates()`` is the figure the README quotes.
"""

from __future__ import annotations

import random
import re

import forms as F
from forms import Cast, Piece, lit, neg, phi

# ------------------------------------------------------------------------------------- body sentences

NURSING = (
    "Pt's {relw} {rel:first} at bedside, updated on plan of care.",
    "spoke with {rel:lower_first} ({relw}) about d/c plans, will pick pt up {date2:md} in am.",
    "{Relw} ({rel:full}) called x2 this shift, questions answered by {rn:cred_suffix}.",
    "Per {md:init_last}, hold lasix tonight and recheck BMP in am.",
    "{md:dr_last} paged re: low K, new orders received.",
    "Family meeting held {date:md} with {rel:title_last}, {rel2:first} and {md:dr_last}.",
    "Report given to {rn:first}, RN on the step-down unit.",
    "pt states {his} {relw} {rel:lower_first} will bring in home meds tomorrow.",
    "Received pt from {hosp} via EMS at 1420.",
    "{pt:title_last} ambulated to bathroom with assist x1, tolerated well.",
    "{pt:poss_last} {relw} requested an update from {md:dr_last}; message left.",
    "Chaplain {st:last} visited with pt and {relw}.",
    "Sitter at bedside, {rel:first} ({relw}) to stay overnight.",
    "Pt refused 2200 meds, {md:dr_last} aware.",
    "PT eval completed by {st:cred_lower}; recommends rehab at {hosp2}.",
    "Pt's {relw} {rel:full} is HCP, phone {phone}.",
    "Last BM {date:md} per pt.",
    "Foley removed {date:md_pad} at 0600, due to void by 1400.",
    "Skin tear noted L forearm, wound care consult placed with {st:full}.",
    "cath site clean/dry/intact, {md:last} notified of small hematoma.",
    "Pt very confused overnight, calling out for {rel:nick}.",
    "Pt's {relw} {rel2:first} and {rel:first} visited this afternoon.",
    "Discussed code status with {pt:first} and family; remains full code.",
    "Pt tearful, states {he} misses {his} dog and {his} {relw} {rel:lower_first}.",
    "{pt:first} ate 50% of lunch, encouraged fluids.",
    "Held heparin per {md:dr_full} due to low platelets.",
    "Transport to {hosp2} arranged for {date2:mon_day_th} at 0900.",
    "Pt to go home with {relw}, {rel:full}, who will stay with {him} until {date2:month_day}.",
    "spoke to dr {md:lower_last} re: pt's agitation, haldol ordered.",
    "Call from {hosp} lab re: critical value, read back to {rn:first}.",
    "NPO after MN for EGD with {md:dr_last} on the {date2:ordinal}.",
    "Pt's {relw} states pt was last seen normal on {date:md} at around 2200.",
    "Pt states {he} has been seeing {md2:dr_last} at {hosp3} since {past:year}.",
    "MD {md:last} at bedside for paracentesis.",
    "VS stable, {md:initials} aware of soft BP.",
    "PT {pt:caps_last} TO OR AT 0730, {relw} IN WAITING ROOM.",
    "{Relw} {rel:lower_full} requesting call back at {phone}.",
    "Pt went to {hosp2} ED on {past:dmy_abbr} for the same complaint.",
    "pt's {relw} {rel:first} here, brought pt's glasses and hearing aids.",
    "Assisted {pt:nick} to chair, call light in reach.",
    "Per {rel:poss_first} report, pt has not eaten well since {date:day_mon}.",
    "Wife/dtr ({rel:first}, {rel2:first}) updated at bedside by {md:dr_last}.",
    "{rn:cred_prefix} notified of BS 62, juice given.",
    "Pt requesting to speak with {md2:dr_last}, message left with {st:first} at the desk.",
    "Restraints d/c'd per {md:init_last}.",
    "Will be discharged to {hosp3} once bed available, {st:first} from case management following.",
)

CLINICAL = (
    "The patient was transferred to {hosp} for cardiac catheterization on {date:long}.",
    "{He} was seen in the emergency department at {hosp} on {date:mdy4}.",
    "{He} will follow up with {md:dr_last} at {hosp2} in two weeks.",
    "{He} was discharged to {hosp3} on {date2:mdy2}.",
    "d/c'd to {hosp3} {date2:md}.",
    "Referred by {md2:dr_full} of {hosp2}.",
    "Outside records from {hosp} dated {past:mdy4} were reviewed.",
    "Admitted {date:mdy4}, discharged {date2:mdy4}.",
    "{He} underwent a colonoscopy in {past:year} by {md2:dr_last}, which was reportedly normal.",
    "Last mammogram {past:month_year} at {hosp2}, benign.",
    "{His} primary care physician is {md2:dr_full} in {town}.",
    "History obtained from the patient and {his} {relw}, {rel:full}.",
    "Thank you, {md2:dr_last}, for referring {pt:title_last} to our clinic.",
    "Tetanus updated in {past:year2}.",
    "Status post CABG in {past:year} at {hosp}.",
    "{He} had a similar episode in {past:month_of_year} treated at {hosp3}.",
    "Seen by neurology ({md2:dr_last}) on {date:abbr}.",
    "Echo from {past:mdy2} showed mild LV dysfunction.",
    "The case was discussed with {md:dr_full}, who agrees with the plan.",
    "{pt:full} is a pleasant {age:year_old} {man} seen today for follow-up.",
    "Records requested from {hosp2}, fax {fax}.",
    "We will see {him} back on {date2:month_day}.",
    "Return to clinic on the {date2:ordinal} for suture removal.",
    "Will recheck labs {date2:md} at the {town} lab draw station.",
    "Chemotherapy started {past:mdy4_nopad} under {md2:dr_last} at {hosp}.",
    "Followed by {md2:init_last} (cardiology) for atrial fibrillation.",
    "Last colonoscopy {past:year2}, no polyps.",
    "I personally examined {pt:title_last} on {date:long_nocomma}.",
    "Case reviewed with attending, {md:dr_lower}.",
    "Pt seen with {st:cred_prefix}.",
    "Dictated by {md:md_suffix} on {date:mdy2}.",
    "{He} was hospitalized at {hosp} in {past:mon_apos} for pneumonia.",
    "Hip replacement {past:month_year_num} by {md2:dr_last} at {hosp2}.",
    "Prior workup at {hosp3} ({past:dash}) was unrevealing.",
    "Patient of {md2:poss_dr} practice, covering today.",
    "Seen in consultation at the request of {md2:dr_full}.",
    "{pt:title_last} returns today, last seen {past:mdy_dots}.",
    "Procedure scheduled for {date2:iso} at {hosp2}.",
    "Surgery was performed by {md:md_suffix} on {date:dmy_upper}.",
    "{He} was born in {country} and has lived in {town} since {past:year}.",
    "Patient was seen at the {hosp2} in {town} over the weekend.",
    "{He} recalls a negative stress test in {past:year} at {hosp}.",
    "Biopsy {past:abbr_dot}: benign.",
    "Last flu shot {past:month_year}.",
)

SOCIAL = (
    "{He} lives in {town} with {his} {relw}.",
    "Lives alone in an apartment in {town}; {his} {relw} {rel:first} checks on {him} daily.",
    "Originally from {wcity}, {country}; moved to {town}, {state} in {past:year}.",
    "Works as a driver for {org}.",
    "Retired from {org} in {past:year}.",
    "{He} works in the office at {org}.",
    "Recently returned from a trip to {country}.",
    "Moved here from {state} in {past:year}.",
    "{His} {relw} lives in {town}, {st_abbr}, about an hour away.",
    "Lives at {street}, {town}, {st_abbr} {zip}.",
    "Pt resides at {hosp3}.",
    "Attends a day program run by {org}.",
    "Smokes 1 ppd since {past:year}.",
    "{His} {relw} {rel:full} is supportive and involved.",
    "{Rel2w} {rel2:first} lives nearby in {town}.",
    "Emergency contact: {rel:last_first} ({relw}) {phone}.",
    "{He} grew up in {wcity} and came to the US in {past:year}.",
    "Employed by {org} as a mechanic until {past:year}.",
    "Lives with {rel:lower_first} in a two story home in {town}.",
    "{He} is visiting from {state} for the summer.",
    "Patient is a resident of {town}, {state}.",
    "Quit drinking in {past:year}, attends meetings at {org}.",
    "Spends winters in {town}, {st_abbr} with {his} {relw}.",
    "Came to this country from {country} {past:year2}.",
    "Travel: visited family in {country} in {past:month_year}, returned {date:md}.",
    "lives w/ {relw} in {town}, independent w/ ADLs.",
    "Lives in {st_abbr}, here visiting {his} {relw} {rel:first}.",
)

AGES = (
    "{His} mother died at age {age:bare}.",
    "{He} lives with {his} {age:year_old} mother.",
    "Pt is a {age:year_old} {man} admitted from {hosp3}.",
    "{age:yo} {man} w/ hx of CHF, AF, CKD.",
    "Grandmother, aged {age:bare}, lives with the family.",
    "{He} is {age:years_of_age} and lives independently.",
    "Father died at {age:bare} of old age.",
    "{pt:title_last} is a {age:words_year_old} {man} with dementia.",
    "{age:y_o} {man}, DNR/DNI, from {hosp3}.",
    "Pt {age:yo_tight}, lives with {relw}.",
    "{His} {relw}, {age:bare}, is the primary caregiver.",
    "The patient is {age:aged} and uses a walker.",
    "Age: {age:bare}",
    "{age:yr_old} {man} s/p fall at home.",
)

RADIOLOGY = (
    "Findings discussed with {md:dr_last} by telephone on {date:mdy2} at 1420.",
    "Critical result called to {md:dr_full} at 15:10 on {date:mdy4}, read back confirmed.",
    "Comparison is made to an outside study from {hosp} dated {past:long}.",
    "Preliminary report reviewed with {md2:init_last} in the ED.",
    "Accession number {idnum}.",
    "Ordered by {md2:dr_last} ({hosp2}).",
    "Electronically signed by {md:md_suffix} on {date:mdy4_nopad} 08:12.",
    "Prior exam {past:dmy_dash} at {hosp3} not available for comparison.",
    "Technologist: {st:initials}.",
    "Images sent to {hosp2} per request of {md2:dr_last}.",
    "Study performed at the {town} outpatient imaging site.",
    "Results given to the patient's {relw} at {phone} per {md:dr_last}.",
    "Compared to {past:dmy_abbr}, no significant change.",
    "{md2:poss_dr} office notified {date:mdy2_pad}.",
    "COMPARISON: {past:mdy4}",
    "Outside films from {hosp3}, {town}, reviewed.",
    "Read by {md:last_first} MD.",
    "Exam date: {date:mdy4}",
)

# -------------------------------------------------------------------------------- header / footer lines

HEADERS = (
    "Patient: {pt:last_first}   MRN: {mrn}   DOB: {dob:mdy4}",
    "NAME: {pt:caps_last_first}  MR#: {mrn}  ACCT: {acct}",
    "Pt name: {pt:full_mi}, DOB {dob:mdy2}, SSN {ssn}",
    "RE: {pt:full}\nDOB: {dob:long}\nMed Rec #{mrn}",
    "Date of service: {date:mdy4}\nAttending: {md:md_suffix}\nReferring: {md2:dr_full}",
    "ADMISSION DATE: {date:mdy4}\nDISCHARGE DATE: {date2:mdy4}",
    "Insurance: Medicaid ID {plan}; secondary policy {plan}.",
    "Medicare # {plan}",
    "BCBS member ID {plan}, group {plan}.",
    "Account #: {acct}  Visit #: {acct}",
    "SS# {ssn}",
    "Social security number {ssn} verified with patient.",
    "Address: {street}\n{town}, {st_abbr} {zip}",
    "Home phone: {phone}  Work: {phone}  Cell: {phone}",
    "Pharmacy: {pharm}, {town}, fax {fax}",
    "Driver's license {idnum} on file.",
    "Pacemaker: dual chamber, serial # {device}.",
    "Insulin pump serial number {device}.",
    "ICD SN {device}, last interrogated {past:mdy4}.",
    "Portal username: {user}",
    "Note entered by {user} from workstation {ip}.",
    "Patient messages via {url}.",
    "Results released to the patient portal ({url}) on {date:mdy4}.",
    "Email: {email}",
    "Send records to {email} or fax {fax}.",
    "Encounter #{acct} | {hosp} | {date:iso}",
    "Location: {hosp}, {town}, {state}",
    "MRN {mrn} / FIN {acct}",
    "Primary MD: {md2:last_first}, MD  Phone: {phone}",
    "Provider NPI {idnum}, DEA {idnum}.",
    "Case # {idnum} (workers compensation claim {acct}).",
    "{pt:caps_full}  {mrn}  {dob:mdy4}  {age:bare}{sexletter}",
    "Unit no: {mrn}  Adm: {date:dmy_upper}  Loc: {hosp}",
    "Patient ID {mrn}, accession {idnum}, referring {md2:last_first}",
    "Interpreter: {st:full}, ID {idnum}.",
    "HOSPITAL COURSE ({hosp}, {date:mdy2} - {date2:mdy2}):",
    "Guarantor: {rel:last_first}, acct {acct}, ins {plan}",
    "Seen at: {hosp}, {street}, {town}, {state} {zip}",
    "Login {user} ({ip}) accessed record {date:mdy4}.",
)

FOOTERS = (
    "{md:md_suffix}\n{hosp}\n{street}\n{town}, {st_abbr} {zip}\nTel {phone}  Fax {fax}",
    "Electronically signed: {md:last_first}, MD {date:mdy4} 17:45",
    "{rn:cred_lower} {date:md} 0300",
    "-- {rn:initials}",
    "Dictated but not read. {md:init_last}/{st:initials}  D: {date:mdy2}  T: {date2:mdy2}",
    "Signed: {st:cred_suffix}, {date:dmy_upper}",
    "Attending addendum: I saw and examined the patient with {md2:dr_full} and agree with the note. {md:md_suffix}",
    "cc: {md2:dr_full}, {hosp2}; {md:dr_last}",
    "Thank you for this referral.\nSincerely,\n{md:md_suffix}\n{hosp}",
    "{md:caps_full}, MD",
    "cc: {md2:md_suffix}; {md:md_suffix}",
    "Resident: {st:full}, PGY-2   Attending: {md:dr_full}",
    "{md:init_last}/{st:initials} job #{idnum}",
    "Electronically signed by {rn:cred_lower} on {date:mon_day_th} at 11:02.",
    "Cosigned {md2:last_first} {date:mdy2_pad}",
    "{st:first} {st:last}, {st_cred}\nPager {phone:pager4}",
    "Please call {md:dr_last} with questions at {phone:ext_internal}.",
    "Questions: {email}, {phone:with_ext}",
    "After-visit instructions and education sheets: {url}",
)

PHONE_MESSAGES = (
    (
        "PHONE MESSAGE {date:mdy4} 10:42\nFrom: {rel:full} ({relw})\nRe: {pt:last_first}\nCall back: {phone}\n"
        "Message: asking about CT results; taken by {st:first}."
    ),
    "Tel enc {date:md}: pt's {relw} called, pt more confused since {date:day_mon}. Advised ED. -{st:initials}",
    "Phone note: {pt:first} called, pharmacy ({pharm}) did not receive rx. Resent. {st:init_last}, RN",
    "TC from {hosp2} ({st:full}) re: bed availability; call back {phone}.",
    "Returned call to {rel:title_last} at {phone:local7}, left VM.",
    "Message from {pt:full}: needs refill on metoprolol, pharmacy fax {fax}.",
    "Called pt at home {phone}, no answer, msg left with {relw}.",
    "{date:mdy2} 3:15p - pt's {relw} {rel:first} calling, asking for callback from {md:dr_last}, # {phone}.",
    "Spoke with {rel:lower_full} ({relw}) on the {date:ordinal}, aware of appt at {hosp2} on {date2:mon_day_th}.",
    "Voicemail from {md2:poss_dr} office ({phone:paren}) re: prior auth.",
    "Page from lab at {phone:ext_internal}: critical INR, {md:dr_last} notified.",
    "Left message for {md:dr_last} at {phone:ext_only}, awaiting call back.",
    "Call received from {org} re: work note for {pt:title_last}.",
    (
        "** Phone call ** {date:abbr} caller: {rel:caps_full} ({relw}) ph {phone:paren_space} re: {pt:last_first} "
        "DOB {dob:mdy4}"
    ),
    "spoke w/ {rel:lower_first} ({relw}) by phone, will bring pt in {date2:md}.",
    "LM for pt at {phone:dots} to call back re: labs.",
    "Pt called from {town}, traveling, ran out of meds; sent to local pharmacy ({pharm}).",
    "Fax received from {hosp} ({fax}) with discharge summary dated {past:mdy4}.",
    "Rx called in to {pharm} at {phone:dash10}.",
    "Message: {pt:caps_last_first} / cb {phone:local7} / re appt {date2:md}.",
    "Per {rel:poss_first} call this am, pt fell at home on {date:month_day}.",
)

# ------------------------------------------------------------------------------------------- decoys

NEGATIVES = (
    "BP {neg:bp}, HR 84, RR 18, sats {neg:o2}% RA.",
    "Pain {neg:pain}, medicated with oxycodone {neg:dose}.",
    "Vent settings {neg:vent}, tolerating well.",
    "Soft {neg:murmur} systolic murmur at the left sternal border.",
    "Strength {neg:strength} throughout.",
    "Vision {neg:vision} OU.",
    "I:E ratio {neg:ratio}.",
    "Remains on {neg:ratio} sitter.",
    "K {neg:lab}, Mg {neg:lab}, Cr {neg:lab}.",
    "Ate {neg:fraction} of dinner tray.",
    "Apgars {neg:apgar}.",
    "MMSE {neg:mmse}.",
    "Disc bulge at {neg:level} without stenosis.",
    "{neg:gp}, LMP unknown.",
    "Lasix {neg:dose} IV x1 at {neg:time}.",
    "Temp {neg:temp}, HR 102.",
    "Pt is a {negage:year_old} {man} with COPD.",
    "{His} father, {negage:bare}, has diabetes.",
    "Glucose {neg:lab} at {neg:time}, covered per sliding scale.",
    "Blood cultures {neg:cultures} bottles positive.",
    "BP {neg:bp} sitting, {neg:bp} standing.",
    "Reflexes {neg:reflex} and symmetric.",
    "Wound measures {neg:dims} cm.",
    "EF {neg:ef}.",
    "Heparin drip at {neg:rate} units/hr.",
    "GCS {neg:gcs}.",
    "Rhythm: atrial flutter with {neg:block} conduction.",
    "FEV1/FVC {neg:fev}.",
    "Sats {neg:o2}% on {neg:o2l}L NC.",
    "Pt is {negage:yo} and lives independently.",
    "Tylenol 650 mg q6h prn pain > {neg:pain}.",
    "BMI {neg:bmi}.",
    "PSA {neg:lab}, up from {neg:lab}.",
    "pain {neg:pain} after dilaudid, resting comfortably.",
    "{negage:y_o} {man} with chest pain.",
    "Murmur {neg:murmur} holosystolic, unchanged.",
    "Grip {neg:strength} on the right, {neg:strength} on the left.",
    "Mother {negage:aged}, hypertension.",
)

BODY_POOLS = {"nursing": NURSING, "clinical": CLINICAL, "social": SOCIAL, "ages": AGES}
ALL_POOLS = {
    **BODY_POOLS,
    "radiology": RADIOLOGY,
    "headers": HEADERS,
    "footers": FOOTERS,
    "phone_messages": PHONE_MESSAGES,
    "negatives": NEGATIVES,
}


def count_templates() -> dict[str, int]:
    """Distinct templates per pool (the README's figure)."""
    return {name: len(set(pool)) for name, pool in ALL_POOLS.items()}


# ------------------------------------------------------------------------------------------ rendering

SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")


def _decoy(kind: str, rng: random.Random) -> str:
    r = rng.randint
    return {
        "bp": lambda: f"{r(86, 196)}/{r(40, 112)}",
        "pain": lambda: f"{r(0, 10)}/10",
        "vent": lambda: f"{rng.choice((5, 8, 10, 12))}/{rng.choice((5, 8, 10, 14))}/{rng.choice((30, 35, 40, 50, 60))}",
        "murmur": lambda: f"{r(1, 4)}/6",
        "strength": lambda: rng.choice((f"{r(2, 5)}/5", "4+/5", "4-/5")),
        "vision": lambda: f"20/{rng.choice((20, 25, 30, 40, 50, 70, 100, 200, 400))}",
        "ratio": lambda: rng.choice(("1:1", "1:2", "1:3", "2:1")),
        "block": lambda: rng.choice(("2:1", "3:1", "4:1")),
        "lab": lambda: f"{r(1, 14)}.{r(0, 9)}",
        "fraction": lambda: rng.choice(("1/2", "3/4", "1/4", "2/3")),
        "apgar": lambda: f"{r(5, 9)}/{r(8, 9)}",
        "mmse": lambda: f"{r(14, 30)}/30",
        "level": lambda: rng.choice(("L4/5", "L5/S1", "C5/6", "C6-7", "L3-4")),
        "gp": lambda: f"G{r(1, 6)}P{r(0, 5)}",
        "dose": lambda: rng.choice(("5 mg", "40 mg", "0.5 mg", "1 g", "20 mg")),
        "time": lambda: f"{r(0, 23):02d}{rng.choice(('00', '15', '30', '45'))}",
        "temp": lambda: f"{r(96, 102)}.{r(0, 9)}",
        "cultures": lambda: f"{r(1, 4)}/4",
        "reflex": lambda: rng.choice(("2+", "1+", "3+", "2+/4")),
        "dims": lambda: f"{r(1, 9)}.{r(0, 9)} x {r(1, 9)}.{r(0, 9)}",
        "ef": lambda: f"{r(15, 70)}%",
        "rate": lambda: f"{r(5, 18)},{rng.choice(('000', '200', '500'))}",
        "gcs": lambda: rng.choice(("15", "E4V5M6", "14", "3T")),
        "fev": lambda: f"0.{r(40, 85)}",
        "o2": lambda: f"{r(86, 100)}",
        "o2l": lambda: f"{r(1, 6)}",
        "bmi": lambda: f"{r(17, 48)}.{r(0, 9)}",
    }[kind]()


class Renderer:
    """Fills template slots for one document from its cast, with the document's own RNG."""

    def __init__(self, lex, cast: Cast, rng: random.Random):
        self.lex, self.cast, self.rng = lex, cast, rng
        c = cast
        self.people = {
            "pt": c.patient,
            "rel": c.relatives[0],
            "rel2": c.relatives[1],
            "md": c.staff[0],
            "md2": c.staff[1],
            "rn": c.staff[2],
            "st": c.staff[3],
        }

    def _date(self, which: str, form: str | None) -> list[Piece]:
        rng, c = self.rng, self.cast
        days = {"date": rng.randint(-3, 3), "date2": rng.randint(4, 21), "past": -rng.randint(40, 365 * 15)}
        day = c.birth if which == "dob" else c.anchor + F.dt.timedelta(days=days[which])
        form = form or rng.choice(F.DATE_FORMS)
        return [phi(F.date_text(day, form), "DATE", f"date:{form}")]

    def slot(self, name: str, form: str | None) -> list[Piece]:
        rng, c, lex = self.rng, self.cast, self.lex
        pt = c.patient
        if name in self.people:
            return F.name_pieces(self.people[name], form or "any", rng)
        pronouns = {
            "he": ("she", "he"),
            "He": ("She", "He"),
            "his": ("her", "his"),
            "His": ("Her", "His"),
            "him": ("her", "him"),
            "man": ("woman", "man"),
            "sexletter": ("F", "M"),
        }
        if name in pronouns:
            return [lit(pronouns[name][pt.sex == "M"])]
        if name in ("relw", "Relw", "rel2w", "Rel2w"):
            word = (c.relatives[1] if "2" in name else c.relatives[0]).relation
            return [lit(word.capitalize() if name[0].isupper() else word)]
        if name == "st_cred":
            return [lit(c.staff[3].credential)]
        if name in ("date", "date2", "past", "dob"):
            return self._date(name, form)
        if name == "age":
            n = rng.choice((90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 104))
            return F.age_pieces(n, form or rng.choice(F.AGE_FORMS), "AGE")
        if name == "negage":
            n = rng.choice((rng.randint(18, 89), rng.randint(80, 89), 89))
            return F.age_pieces(n, form or rng.choice(F.AGE_FORMS), "NEG")
        if name == "neg":
            return [neg(_decoy(form, rng), form)]
        if name in ("hosp", "hosp2", "hosp3"):
            return [phi(c.hospitals[{"hosp": 0, "hosp2": 1, "hosp3": 2}[name]], "HOSPITAL", "hospital")]
        if name == "org":
            return [phi(rng.choice(c.orgs), "ORGANIZATION", "organization")]
        if name == "pharm":
            return [
                phi(
                    F.facility_name(lex, rng, ("{person} Pharmacy", "{place} Drug", "{person} Apothecary")),
                    "ORGANIZATION",
                    "pharmacy",
                )
            ]
        if name == "town":
            return [phi(c.town, "CITY", "city:town")]
        if name == "wcity":
            return [phi(c.world_city, "CITY", "city:world")]
        if name == "state":
            return [phi(c.state[0], "STATE", "state:name")]
        if name == "st_abbr":
            return [phi(c.state[1], "STATE", "state:code")]
        if name == "country":
            return [phi(c.country, "COUNTRY", "country")]
        if name == "zip":
            return [phi(F.zip_text(c.state, rng), "ZIP", "zip")]
        if name == "street":
            return [phi(F.street_text(lex, rng), "STREET", "street")]
        if name in ("phone", "fax"):
            form = form or rng.choice(
                F.PHONE_FORMS if name == "phone" else ("paren", "dash10", "dots", "local7", "spaces")
            )
            return [phi(F.phone_text(rng, form), name.upper(), f"{name}:{form}")]
        if name == "email":
            user = rng.choice(
                (
                    f"{pt.first}.{pt.last}",
                    f"{pt.first[0]}{pt.last}{rng.randint(1, 99)}",
                    f"{pt.last}{pt.first[0]}",
                    f"{pt.first}{rng.randint(50, 99)}",
                )
            ).lower()
            return [phi(f"{user}@{c.email_domain}", "EMAIL", "email")]
        if name == "url":
            return [
                phi(
                    rng.choice((c.web_host, f"https://{c.web_host}/login", f"http://{c.web_host}/patients")),
                    "URL",
                    "url",
                )
            ]
        if name == "ip":
            return [
                phi(
                    rng.choice(
                        (
                            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                            f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                            f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                        )
                    ),
                    "IPADDR",
                    "ip",
                )
            ]
        if name == "user":
            staff = c.staff[rng.randint(0, 3)]
            return [
                phi(
                    rng.choice(
                        (
                            f"{staff.first[0]}{staff.last}{rng.randint(1, 9)}",
                            f"{staff.last}{staff.first[0]}",
                            f"{staff.first}.{staff.last}",
                            f"{staff.last[:6]}{rng.randint(10, 99)}",
                        )
                    ).lower(),
                    "USERNAME",
                    "username",
                )
            ]
        makers = {
            "mrn": ("MEDICALRECORD", F.mrn_text),
            "ssn": ("SSN", F.ssn_text),
            "acct": ("ACCOUNT", F.account_text),
            "plan": ("HEALTHPLAN", F.healthplan_text),
            "idnum": ("IDNUM", F.idnum_text),
            "device": ("DEVICE", F.device_text),
        }
        if name in makers:
            label, make = makers[name]
            return [phi(make(rng), label, name)]
        raise ValueError(f"unknown slot {{{name}}}")

    def render(self, template: str) -> list[Piece]:
        pieces: list[Piece] = []
        at = 0
        for match in SLOT.finditer(template):
            if match.start() > at:
                pieces.append(lit(template[at : match.start()]))
            pieces.extend(self.slot(match.group(1), match.group(2)))
            at = match.end()
        if at < len(template):
            pieces.append(lit(template[at:]))
        return pieces
