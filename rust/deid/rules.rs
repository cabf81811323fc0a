//! Rule-based de-identification: finds protected health information (PHI) in clinical text and
//! replaces each finding with a typed placeholder (`[NAME]`, `[DATE]`, ...).
//!
//! Design
//! * A fixed list of rules, each a PHI type, a regex compiled once (a `LazyLock`), and a refine
//!   step. The regex carries the context that makes a finding credible (a title, a label such as
//!   `MRN:` or `Fax:`); the refine step validates the match (a month is 1-12, an SSN area is not
//!   666, a name does not run into "is" or "MD") and returns only the PHI part: the span reported
//!   is `Smith`, not `Dr. Smith`, and `64035020`, not `MRN: 64035020`. Where the context is a
//!   word list (the cue before "on 4/10", "in 2015", "CABG 2004"; the ratio words around
//!   "pain 3/10"), the regex matches only the number and the refine step reads the words around
//!   it (`words_before`, `word_after`): long case-insensitive cue alternations in a regex are
//!   what makes the automaton big.
//! * Few passes: the rules are compiled into a handful of combined regexes (`GROUP_STARTS`),
//!   `(rule_a)|(rule_b)|...`, each scanned once, leftmost-first; within a group, where two rules
//!   match at the same position the earlier rule in the list wins (labeled and longer forms come
//!   first). One regex of all rules would be one automaton whose states multiply with every rule
//!   that can be in progress at once; its lazy DFA thrashes (on the shared clinical notes, finding
//!   the matches runs at 16 MB/s with one regex and 74 MB/s with the five groups). A match its rule rejects is retried one character
//!   later; an accepted one resumes after the finding, so trailing context ("John Smith" of
//!   "John Smith, RN") does not hide another finding. The candidates of all groups are then
//!   resolved (earliest start, then longest, then rule order) and names found through a cue are
//!   looked for again in the rest of the document ("Mr. Owens ... Owens reports"), so a surname is
//!   scrubbed everywhere it appears.
//! * `detect_rule_by_rule` runs every rule on its own over the whole text and resolves all the
//!   candidates together: the slow reference the grouped engine is tested against (they agree
//!   on every document of the demo and the shared development corpora). Two rules that can match
//!   at the same position where the earlier may reject what the later accepts go in different
//!   groups (`date_md` apart from `date_numeric`), or the earlier one's pattern is made narrow
//!   enough not to match there (`hospital_saint` requires the possessive, so "St. Paul, MN"
//!   reaches `location_city_state`).
//! * Speed: ASCII texts (most) use a second compiled copy whose letter classes are ASCII: the same
//!   language on ASCII text and a much smaller automaton. Regex caches are per thread.
//! * Offsets are byte offsets into the UTF-8 text here; `char_spans` converts them to character
//!   (Python string) offsets for the bindings.
//!
//! Decisions (HIPAA Safe Harbor lists 18 identifiers; these are the ones a rule can see; the
//! gold standards users score us on also mark years, hospitals, cities and states):
//! * Dates: every date that has a day or a month is PHI: "03/14/2025", "March 14, 2025",
//!   "14th of March", "March 14", "21 Apr", "Apr 21st", and month + year ("March 2025",
//!   "03/2025") too. A month/day without a year ("8/14") is as often a ratio, a score, a vent
//!   setting or a dose, so it needs context: a date cue before it ("on", "since", "d/c", "f/u",
//!   "DOS:", a weekday, a test such as "CXR"), a time after it ("8/14 0800"), or a second date
//!   making a forward range ("4/10-4/12"); "in" only before a month/2-digit year ("in 12/07").
//!   It is rejected next to ratio words ("pain", "BP", "strength", "murmur", "grade", "PEEP",
//!   "FiO2", "tab", units; `NOT_DATE_BEFORE`, `NOT_DATE_AFTER`), when glued to more numbers
//!   ("500/14/5", "L4/5", "x2/3"), and fraction-like pairs ("1/2", "3/4") need a strong cue ("on",
//!   "since", "DOS"). A 2-digit-year date after vent words ("PS 5/10/40") is a setting.
//!   A month and a two-digit year that cannot be a day ("in 1/95", "stroke 10/87") needs a cue
//!   or an event; a month name alone needs a temporal cue ("since September", "in early March");
//!   a day alone needs one too ("on the 15th", not "on the 3rd floor"). Month names in lower case
//!   ("january 27", "11-sep-2017") are dates with a year, or with a cue before them.
//! * Years are scrubbed as DATE when a temporal cue or an event puts them in time: "in 2015",
//!   "since 1998", "from 2010 to 2015", "the summer of 2010", "mid-2015", "appendectomy (2004)",
//!   "CABG 2004", "quit 1996", "MI in 98", "'98", "the '90s", "the 1990s". Not "in the 90s"
//!   (saturations), "in 2000 patients" (a count), nor "until 2100" / "from 1900 to 0700" (clock
//!   times: a year that reads as a time on the quarter hour after "until", "from", "after", ...
//!   needs a second year; "until 2012" is a year).
//! * Names through cues the rules can see: titles in any case ("dr. john doe", "dr Smith",
//!   "DR JONES"), credentials after a name ("John Smith MD", "J. Smith, NP", "jane roe, rn" at a
//!   line end), "per", "spoke with", "called", ... before a name of two words or more ("per W.
//!   Smith"; "per JS" and "per Smith" are too weak), relationship words ("his daughter Ann",
//!   "wife (Mary", "son, Robert,"), staff roles ("RN Mary", "nurse Kelly"), staff labels before a
//!   lowercase name ("attending: john doe") and signatures ("-- M. Jones"). Every word of such a
//!   name is checked against function words, roles, services and clinical words (`NOT_NAME`,
//!   `GENERIC_ORG`), and relationship and role names must be Title case ("MOTHER DIABETES" is a
//!   family history). Headers and signatures are cues too: "From:", "RE:", "Message:", "cc:",
//!   "Cosigned", "Read by", a name before "(daughter)", the typist's initials after the dictating
//!   physician ("P. Treford/BC"), initials after a staff label ("Technologist: AV") or alone on a
//!   signature line ("-- J.L.S."), and the name of a patient banner ("DOE, JOHN  1234567
//!   01/02/1950").
//! * Placeholders are not names: one capital letter without a period ("Dr. X", "Dr. Y."), one
//!   letter repeated ("XXX") or a run of the alphabet ("Dr. ABC", "Mr. Abc", "XYZ"): template and
//!   already de-identified notes use them, and they hide nothing.
//! * Identifiers of every kind after their label (type MRN): record, account, visit, encounter,
//!   claim and case numbers, health-plan member, group and policy numbers, Medicare and Medicaid
//!   numbers, NPI, DEA and license numbers, accession and specimen numbers, device serials
//!   ("ICD SN 6450-W4054"), "Unit no:", and user names ("username: jdoe7", "Login torpey42").
//!   The value needs three digits or more; labels that are also words ("unit", "case", "visit")
//!   need a sign or a number word after them ("Unit no:", "Case #"). Model numbers identify a
//!   product, not a person, and are left.
//! * Hospitals (type Hospital): a name before a facility word ("Saint Joseph Hospital", "Y Valley
//!   Cardiology Center", "Sunrise Nursing Home", "Mayo Clinic", "Banner Health"), short forms
//!   ("Mercy General", "Springfield Memorial") and "St. Mary's". At least one word must not be
//!   generic ("Children's Hospital", "Pain Clinic" and "Medical Center" stay), departments named
//!   by a clinical word stay ("Atrial Fibrillation Clinic"), and a facility word used as a
//!   modifier stays ("Hospital course", "Clinic note").
//! * Places (type Location), by context only: "City, ST" and "City, State" (a state abbreviation
//!   that is also a clinical one, such as MI, CT, MS, OR, PA, CA, needs "in", "from", ... before
//!   the city; "Smith, MD" is a name), a place after "lives in", "moved to", "born in",
//!   "transferred from", "visited family in", "came to this country from", "in an apartment in",
//!   ..., and a state name after a preposition ("from Ohio"). With a ZIP code, the city and state
//!   and the ZIP code are reported apart ("Salem, OR" and "97301"). Employers after "works for",
//!   "employed by", "retired from" are reported with the organizations (type Hospital).
//! * Phones in local layouts: "(555) 123 4567", and after a phone word within a few lowercase
//!   words ("call wife at 555-1234", "cell is 555 123 4567"); after "at", "cb", "#" ("at
//!   246-1658"); in parentheses ("(553 247 0856)"); after a relation ("(aunt) 457 974 0530");
//!   extensions ("x4-5678", "ext 22", not "ext 20 degrees"), five-digit internal numbers after a
//!   phone label or a call word ("Tel 6-5260"); pagers ("pgr 1234").
//! * Ages: only ages over 89 are PHI; younger ages are left. Besides "92-year-old", "93 yo" and
//!   "age 95": "died at 93", "his brother, 92,", ages written out ("ninety-five-year-old") and a
//!   banner's "102F" after the birth date.
//! * Times ("10:30"), blood pressures ("120/80"), scores ("5/10"), doses, lab values, ICD codes
//!   and vertebral levels are never matched: every numeric rule needs a shape those cannot have
//!   (three date parts, a valid month, a label, a NANP phone layout, a cue, ...).
//! * Known gaps: a month/day with no context ("8/14" alone, "echo 8/14" is found but "8/14 echo"
//!   is not); names with no cue at all (no title, no label, never seen with one in the same
//!   document), single names after weak cues ("per Smith"), lowercase names after a relationship
//!   or role word ("wife mary"); cities with no cue and no state (the lexicon's job); hospitals
//!   without a facility word ("transferred to Mercy"); uppercase street
//!   abbreviations ("MAIN ST"); "in 98" without an event before "in"; identifiers without a label;
//!   single or lowercase names with only a weak cue ("read back to Vaan", "his grandson
//!   zeisdrerto"); lowercase places ("born in chile"). A "City, ST" list of clinical abbreviations
//!   ("Hypertension, MI") is left for that reason, and so is "Jane Doe, PA" (a physician
//!   assistant or Pennsylvania).

use regex::{Captures, Match, Regex, RegexBuilder};
use std::sync::LazyLock;

use super::types::{PhiType, Span};

// --- pattern building blocks ------------------------------------------------------------------
//
// Patterns are written with %KEY% placeholders, expanded (recursively) before compiling. Word
// boundaries are ASCII (`(?-u:\b)`) and digits are `[0-9]`, which keeps every regex on the fast
// DFA engines whatever the text contains; names use Unicode letter classes.

const STATE_ABBRS: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR",
    "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR", "VI", "GU", "AS", "MP",
];

const STATE_NAMES: &[&str] = &[
    "Alabama",
    "Alaska",
    "Arizona",
    "Arkansas",
    "California",
    "Colorado",
    "Connecticut",
    "Delaware",
    "Florida",
    "Georgia",
    "Hawaii",
    "Idaho",
    "Illinois",
    "Indiana",
    "Iowa",
    "Kansas",
    "Kentucky",
    "Louisiana",
    "Maine",
    "Maryland",
    "Massachusetts",
    "Michigan",
    "Minnesota",
    "Mississippi",
    "Missouri",
    "Montana",
    "Nebraska",
    "Nevada",
    "New Hampshire",
    "New Jersey",
    "New Mexico",
    "New York",
    "North Carolina",
    "North Dakota",
    "Ohio",
    "Oklahoma",
    "Oregon",
    "Pennsylvania",
    "Rhode Island",
    "South Carolina",
    "South Dakota",
    "Tennessee",
    "Texas",
    "Utah",
    "Vermont",
    "Virginia",
    "Washington",
    "West Virginia",
    "Wisconsin",
    "Wyoming",
    "Puerto Rico",
];

/// Street suffixes written out: matched in Title case or UPPER case.
const STREET_WORDS: &[&str] = &[
    "Street",
    "Avenue",
    "Road",
    "Drive",
    "Lane",
    "Court",
    "Boulevard",
    "Way",
    "Place",
    "Terrace",
    "Circle",
    "Parkway",
    "Highway",
    "Square",
    "Trail",
    "Loop",
    "Alley",
    "Plaza",
    "Pike",
    "Turnpike",
    "Expressway",
    "Freeway",
    "Crossing",
    "Row",
    "Run",
    "Path",
    "Walk",
    "Close",
    "Crescent",
    "Point",
];

/// Street suffix abbreviations: Title case only ("CT", "DR", "ST" in capitals are too often
/// something else: a CT scan, delayed release, ...).
const STREET_ABBRS: &[&str] = &[
    "St", "Ave", "Av", "Rd", "Dr", "Ln", "Ct", "Blvd", "Pl", "Ter", "Terr", "Cir", "Pkwy", "Hwy", "Sq", "Trl", "Pt",
    "Cres",
];

/// The months written out (also what surrogate.rs reads and writes dates with).
pub(crate) const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const MONTH_ABBRS: &[&str] = &["Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec"];

/// Words that end a name (or rule one out when they come first): function words, pronouns,
/// clinical words that follow a name in running text, and credentials. Lowercase.
const NAME_STOP: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "al",
    "all",
    "also",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "during",
    "each",
    "et",
    "every",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "may",
    "me",
    "might",
    "must",
    "my",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "over",
    "per",
    "please",
    "shall",
    "she",
    "should",
    "since",
    "so",
    "some",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "to",
    "today",
    "tomorrow",
    "tonight",
    "under",
    "until",
    "upon",
    "us",
    "very",
    "via",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "would",
    "yes",
    "yesterday",
    "you",
    "your",
    // clinical words
    "patient",
    "patients",
    "pt",
    "history",
    "hx",
    "denies",
    "reports",
    "states",
    "presents",
    "admitted",
    "discharged",
    "seen",
    "signed",
    "dictated",
    "date",
    "dob",
    "mrn",
    "ssn",
    "phone",
    "fax",
    "email",
    "address",
    "age",
    "sex",
    "male",
    "female",
    "man",
    "woman",
    "diagnosis",
    "impression",
    "plan",
    "assessment",
    "findings",
    "exam",
    "examination",
    "procedure",
    "indication",
    "comparison",
    "technique",
    "note",
    "report",
    "unknown",
    "none",
    "n/a",
    "na",
    "alive",
    "deceased",
    "living",
    "healthy",
    "normal",
    "negative",
    "positive",
    "stable",
    "office",
    "clinic",
    "hospital",
    // offices addressed with a title ("Mr. President", "Madam Chair")
    "president",
    "vice",
    "speaker",
    "chairman",
    "chairwoman",
    "chair",
    "chief",
    "justice",
    "secretary",
    "senator",
    "governor",
    "mayor",
    "majority",
    "minority",
    "leader",
    "ambassador",
    "director",
    // credentials
    "md",
    "do",
    "rn",
    "np",
    "pa",
    "pac",
    "pa-c",
    "phd",
    "dds",
    "dmd",
    "dpm",
    "facs",
    "facp",
    "facc",
    "faan",
    "mph",
    "mba",
    "msn",
    "bsn",
    "crna",
    "lpn",
    "cnm",
    "pharmd",
    "mbbs",
    "frcs",
    "frcp",
    "frcpc",
    "aprn",
    "fnp",
    "dnp",
    "lcsw",
    "slp",
    "rd",
    "esq",
    "od",
];

/// Words that end a name when they are not its first word: months, weekdays and the words of
/// departments and institutions ("Dr. Smith Cardiology Clinic"). Lowercase.
const NAME_CUT: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "center",
    "centre",
    "medical",
    "medicine",
    "department",
    "dept",
    "service",
    "services",
    "unit",
    "team",
    "group",
    "associates",
    "partners",
    "specialists",
    "practice",
    "cardiology",
    "neurology",
    "oncology",
    "radiology",
    "pathology",
    "surgery",
    "pediatrics",
    "orthopedics",
    "urology",
    "dermatology",
    "psychiatry",
    "emergency",
    "er",
    "ed",
    "icu",
    "room",
    "floor",
    "university",
    "institute",
    "health",
    "care",
    "healthcare",
    "pharmacy",
    "lab",
    "laboratory",
    "consult",
    "consultation",
    "follow",
];

/// Name words that are also ordinary capitalized words or places; a name found through a cue is
/// still scrubbed there, but these are not propagated to the rest of the document.
const NO_PROPAGATE: &[&str] = &[
    "white",
    "black",
    "brown",
    "green",
    "gray",
    "grey",
    "long",
    "young",
    "price",
    "mark",
    "frank",
    "grace",
    "hope",
    "joy",
    "june",
    "april",
    "august",
    "rose",
    "stone",
    "wood",
    "woods",
    "hill",
    "hall",
    "king",
    "bell",
    "west",
    "ward",
    "cook",
    "ford",
    "hunt",
    "mason",
    "burns",
    "wells",
    "mills",
    "fox",
    "cox",
    "reed",
    "park",
    "lane",
    "page",
    "dean",
    "love",
    "day",
    "cross",
    "bush",
    "rich",
    "case",
    "field",
    "church",
    "major",
    "post",
    "small",
    "little",
    "sharp",
    "strong",
    "best",
    "good",
    "early",
    "snow",
    "rice",
    "nurse",
    "virginia",
    "georgia",
    "carolina",
    "washington",
    "lincoln",
    "jackson",
    "madison",
    "austin",
    "jordan",
    "houston",
    "dallas",
    "denver",
    "phoenix",
    "summit",
    "christian",
    "will",
    "may",
    "art",
    "bill",
    "faith",
    "summer",
    "autumn",
    "dawn",
    "sterling",
    "patient",
    "doctor",
    "street",
];

/// Words that follow a name cue ("per", "called", "RN", "his wife", a title) without being a
/// name: verbs and adverbs of nursing notes, roles, services, family-history words. Lowercase;
/// checked on every word of a cue-found name, with `NAME_STOP` and `NAME_CUT`.
const NOT_NAME: &[&str] = &[
    "aware",
    "notified",
    "paged",
    "called",
    "calling",
    "informed",
    "updated",
    "made",
    "present",
    "available",
    "unavailable",
    "bedside",
    "oncall",
    "on-call",
    "covering",
    "cover",
    "charge",
    "house",
    "officer",
    "staff",
    "nursing",
    "nurse",
    "nurses",
    "physician",
    "physicians",
    "doctor",
    "doctors",
    "resident",
    "residents",
    "intern",
    "interns",
    "fellow",
    "fellows",
    "attending",
    "practitioner",
    "manager",
    "management",
    "supervisor",
    "coordinator",
    "worker",
    "work",
    "social",
    "case",
    "assessment",
    "notes",
    "order",
    "orders",
    "ordered",
    "protocol",
    "policy",
    "request",
    "requests",
    "recommendation",
    "recommendations",
    "recs",
    "family",
    "families",
    "pharmacist",
    "blood",
    "bank",
    "labs",
    "admitting",
    "admissions",
    "registration",
    "security",
    "transport",
    "dietary",
    "nutrition",
    "dietitian",
    "chaplain",
    "interpreter",
    "translator",
    "hospice",
    "home",
    "outpatient",
    "inpatient",
    "rapid",
    "response",
    "code",
    "stat",
    "poison",
    "control",
    "surgical",
    "infectious",
    "disease",
    "diseases",
    "id",
    "gi",
    "renal",
    "heme",
    "onc",
    "pulmonary",
    "pulm",
    "cards",
    "neuro",
    "psych",
    "ortho",
    "ent",
    "ob",
    "gyn",
    "peds",
    "nicu",
    "picu",
    "micu",
    "sicu",
    "ccu",
    "pacu",
    "or",
    "appointment",
    "appt",
    "appts",
    "visit",
    "visits",
    "offices",
    "said",
    "says",
    "saw",
    "sees",
    "see",
    "recommends",
    "recommended",
    "wants",
    "wanted",
    "came",
    "come",
    "comes",
    "instructions",
    "prescribed",
    "gave",
    "started",
    "changed",
    "increased",
    "decreased",
    "told",
    "explained",
    "discussed",
    "stated",
    "feels",
    "felt",
    "thinks",
    "reviewed",
    "evaluated",
    "examined",
    "rounds",
    "rounded",
    "consult",
    "consulted",
    "ok",
    "okay",
    "approved",
    "agreed",
    "agrees",
    "contacted",
    "returned",
    "responded",
    "unable",
    "alive",
    "died",
    "dead",
    "passed",
    "healthy",
    "well",
    "aged",
    "had",
    "have",
    "without",
    "denies",
    "denied",
    "stated",
    "visited",
    "visiting",
    "brought",
    "accompanies",
    "accompanied",
    "arrived",
    "left",
    "declined",
    "refused",
    "requested",
    "believes",
    "lives",
    "lived",
    "works",
    "worked",
    "smokes",
    "smoked",
    "drinks",
    "good",
    "fair",
    "poor",
    "stable",
    "improved",
    "condition",
    "satisfactory",
    "critical",
    "serious",
    "mild",
    "moderate",
    "severe",
    "trace",
    "daily",
    "tab",
    "tabs",
    "tablet",
    "tablets",
    "cap",
    "caps",
    "capsule",
    "capsules",
    "oral",
    "po",
    "bid",
    "tid",
    "qid",
    "qd",
    "qhs",
    "prn",
    "er",
    "xr",
    "sr",
    "chest",
    "abdomen",
    "pelvis",
    "head",
    "neck",
    "spine",
    "brain",
    "knee",
    "hip",
    "shoulder",
    "hand",
    "foot",
    "ankle",
    "wrist",
    "elbow",
    "general",
    "americans",
    "citizens",
    "american",
    "new",
    "old",
    "great",
    "big",
    "first",
    "second",
    "last",
    "next",
    "same",
    "other",
    "another",
    "none",
    "anyone",
    "someone",
    "everyone",
    "nobody",
    "both",
    "either",
    "neither",
    "all",
    "many",
    "several",
    "hypertension",
    "diabetes",
    "cancer",
    "breast",
    "heart",
    "coronary",
    "stroke",
    "asthma",
    "alcoholism",
    "dementia",
    "arthritis",
    "depression",
    "leukemia",
    "lymphoma",
    "negative",
    "positive",
    "noncontributory",
    "mother",
    "father",
    "sister",
    "brother",
    "wife",
    "husband",
    "son",
    "daughter",
    "mom",
    "dad",
    "aunt",
    "uncle",
    "niece",
    "nephew",
    "cousin",
    "grandmother",
    "grandfather",
    "children",
    "child",
    "kids",
    "baby",
    "infant",
    "parents",
    "siblings",
    "friend",
    "friends",
    "partner",
    "spouse",
    "caregiver",
    "guardian",
    "hcp",
    "poa",
    "proxy",
    "significant",
    "mr",
    "mrs",
    "ms",
    "dr",
    "sir",
    "madam",
    "medicine",
    "surgery",
    "office",
    "clinic",
    "hospital",
    "team",
    "service",
    "desk",
    "line",
    "phone",
    "cell",
    "number",
    "message",
    "voicemail",
    "attorney",
    "police",
    "ems",
    "ambulance",
    "fire",
    "cleared",
    "assessed",
    "reassessed",
    "held",
    "restarted",
    "placed",
    "removed",
    "inserted",
    "wrote",
    "written",
    "signed",
    "spoke",
    "talked",
    "met",
    "answered",
    "checked",
    "looked",
    "verbalized",
    "got",
    "asked",
    "instructed",
    "advised",
    "suggested",
    "plans",
    "planning",
    "following",
    "follows",
    "wishes",
    "noted",
    "documented",
    "busy",
    "stopped",
    "ok'd",
    "okd",
    "notify",
    "page",
    "call",
    "paging",
    "returning",
    "canceled",
    "cancelled",
    "rescheduled",
    "scheduled",
    "coming",
    "going",
    "wanting",
    "ordering",
    "department",
    "dept",
    "problem",
    "problems",
    "list",
    "household",
    "ct",
    "mri",
    "cxr",
    "ir",
    "md",
    "ed",
    "icu",
    "floor",
    "unit",
    "bed",
    "room",
    "rm",
    "via",
    "x",
];

/// Words that, alone or together, name a kind of organization rather than one organization:
/// "Children's Hospital", "Pain Clinic", "Medical Center". Lowercase.
const GENERIC_ORG: &[&str] = &[
    "general",
    "community",
    "university",
    "regional",
    "county",
    "state",
    "city",
    "national",
    "international",
    "memorial",
    "medical",
    "health",
    "healthcare",
    "care",
    "center",
    "centre",
    "clinic",
    "clinics",
    "hospital",
    "hospitals",
    "children's",
    "childrens",
    "children",
    "women's",
    "womens",
    "women",
    "men's",
    "veterans",
    "va",
    "vamc",
    "teaching",
    "mental",
    "psychiatric",
    "behavioral",
    "behavior",
    "private",
    "public",
    "rehabilitation",
    "rehab",
    "nursing",
    "home",
    "emergency",
    "surgical",
    "surgery",
    "cancer",
    "heart",
    "eye",
    "dental",
    "family",
    "primary",
    "urgent",
    "walk-in",
    "free",
    "pain",
    "management",
    "wellness",
    "sleep",
    "spine",
    "wound",
    "dialysis",
    "infusion",
    "trauma",
    "burn",
    "stroke",
    "transplant",
    "transplantation",
    "day",
    "night",
    "hospice",
    "assisted",
    "living",
    "skilled",
    "long-term",
    "acute",
    "subacute",
    "sub-acute",
    "specialty",
    "maternity",
    "pediatric",
    "pediatrics",
    "adult",
    "geriatric",
    "occupational",
    "employee",
    "student",
    "school",
    "diabetes",
    "diabetic",
    "lipid",
    "anticoagulation",
    "coumadin",
    "hypertension",
    "asthma",
    "allergy",
    "immunology",
    "pulmonary",
    "pulmonology",
    "cardiology",
    "cardiac",
    "cardiovascular",
    "vascular",
    "neurology",
    "neurosurgery",
    "neurosurgical",
    "orthopedic",
    "orthopaedic",
    "orthopedics",
    "urology",
    "gynecology",
    "obstetrics",
    "oncology",
    "hematology",
    "rheumatology",
    "dermatology",
    "gastroenterology",
    "endocrine",
    "endocrinology",
    "nephrology",
    "renal",
    "podiatry",
    "chiropractic",
    "physical",
    "therapy",
    "speech",
    "hearing",
    "audiology",
    "imaging",
    "radiology",
    "laboratory",
    "lab",
    "diagnostic",
    "ambulatory",
    "outpatient",
    "inpatient",
    "multispecialty",
    "group",
    "associates",
    "practice",
    "medicine",
    "internal",
    "integrated",
    "comprehensive",
    "advanced",
    "metropolitan",
    "metro",
    "tertiary",
    "recovery",
    "postanesthesia",
    "intensive",
    "critical",
    "labor",
    "delivery",
    "fertility",
    "infertility",
    "vein",
    "weight",
    "bariatric",
    "obesity",
    "addiction",
    "detox",
    "methadone",
    "maintenance",
    "homeless",
    "sample",
    "research",
    "data",
    "coordinating",
    "clinical",
    "trials",
    "trial",
    "study",
    "global",
    "world",
    "population",
    "oral",
    "child",
    "maternal",
    "reproductive",
    "sexual",
    "environmental",
    "rural",
    "urban",
    "digital",
    "mobile",
    "federal",
    "army",
    "navy",
    "military",
    "air",
    "force",
    "institute",
    "institutes",
    "foundation",
    "academic",
    "science",
    "sciences",
    "biomedical",
    "surgeons",
    "physicians",
    "plan",
    "insurance",
    "services",
    "service",
    "system",
    "systems",
    "network",
    "department",
    "unit",
    "ward",
    "outside",
    "local",
    "other",
    "same",
    "nearby",
    "area",
    "main",
    "new",
    "old",
    "north",
    "south",
    "east",
    "west",
    "northern",
    "southern",
    "eastern",
    "western",
    "central",
    "upper",
    "lower",
    "big",
    "little",
    "pulmonary",
    "neurological",
    "neuroscience",
    "neurosciences",
    "psychiatry",
    "pediatric",
    "neonatal",
    "perinatal",
    "orthopaedics",
    "ophthalmology",
    "optometry",
    "otolaryngology",
    "ent",
    "sports",
    "spinal",
    "cord",
    "injury",
    "brain",
    "head",
    "neck",
    "breast",
    "prostate",
    "kidney",
    "liver",
    "lung",
    "bone",
    "marrow",
    "blood",
    "epilepsy",
    "seizure",
    "memory",
    "movement",
    "disorders",
    "disorder",
    "gender",
    "hiv",
    "aids",
    "std",
    "tb",
    "travel",
    "vaccine",
    "immunization",
    "poison",
    "control",
    "ems",
    "fire",
    "police",
    "pharmacy",
    "dermatologic",
    "cosmetic",
    "plastic",
    "reconstructive",
    "laser",
    "vision",
    "hand",
    "foot",
    "ankle",
    "knee",
    "hip",
    "joint",
    "arthritis",
    "osteoporosis",
    "endoscopy",
    "colorectal",
    "digestive",
    "surgicenter",
    "ob/gyn",
    "obgyn",
    "womens'",
    "command",
    "operations",
    "trade",
    "convention",
    "shopping",
    "recreation",
    "senior",
    "fitness",
    "conference",
    "training",
    "register",
    "registry",
    "chronic",
    "counseling",
    "residential",
    "treatment",
    "independent",
    "college",
    "correctional",
    "cath",
    "catheterization",
    "electrophysiology",
    "ep",
    "echo",
    "stress",
    "sleep/wake",
    "diabetes/endocrine",
];

/// Words that make a facility word a modifier: "Hospital course", "Clinic note".
const FACILITY_NEXT_REJECT: &[&str] = &[
    "course",
    "courses",
    "stay",
    "stays",
    "day",
    "days",
    "admission",
    "admissions",
    "discharge",
    "discharges",
    "acquired",
    "visit",
    "visits",
    "record",
    "records",
    "chart",
    "charts",
    "bed",
    "beds",
    "policy",
    "policies",
    "protocol",
    "protocols",
    "number",
    "setting",
    "settings",
    "floor",
    "floors",
    "ward",
    "wards",
    "staff",
    "personnel",
    "physician",
    "physicians",
    "doctor",
    "doctors",
    "nurse",
    "nurses",
    "team",
    "teams",
    "follow-up",
    "followup",
    "follow",
    "note",
    "notes",
    "appointment",
    "appointments",
    "appt",
    "level",
    "based",
    "wide",
    "gown",
    "bill",
    "bills",
    "cost",
    "costs",
    "charges",
    "mortality",
    "readmission",
    "readmissions",
    "length",
    "los",
    "outcomes",
    "use",
    "utilization",
    "survey",
    "surveys",
    "study",
    "studies",
    "data",
    "database",
    "sample",
    "sector",
    "organization",
    "organisation",
    "insurance",
    "professional",
    "professionals",
    "worker",
    "workers",
    "provider",
    "providers",
    "practitioner",
    "practitioners",
    "questionnaire",
    "status",
    "assessment",
    "scale",
    "score",
    "index",
    "literacy",
    "education",
    "promotion",
    "behavior",
    "behaviors",
    "problems",
    "problem",
    "issues",
    "system",
    "systems",
    "services",
    "service",
];

/// The last words of a facility name: "Mercy Hospital", "Y Valley Cardiology Center".
const FACILITY_WORDS: &[&str] = &[
    "hospital",
    "hospitals",
    "center",
    "centre",
    "clinic",
    "clinics",
    "health",
    "healthcare",
    "care",
    "institute",
    "infirmary",
    "hospice",
    "rehab",
    "rehabilitation",
    "nursing",
    "medical",
    "memorial",
    "general",
    "regional",
    "sanitarium",
    "sanatorium",
    "manor",
    "associates",
    "practice",
    "group",
];

fn alternation(words: &[&str]) -> String {
    words.join("|")
}

fn title_or_upper(words: &[&str]) -> String {
    let mut out: Vec<String> = Vec::with_capacity(words.len() * 2);
    for w in words {
        out.push(w.to_string());
        out.push(w.to_uppercase());
    }
    out.join("|")
}

/// The building blocks. With `ascii`, letters are ASCII letters: the same language on ASCII text,
/// and a much smaller automaton, so ASCII documents (most of them) get the fast engine.
fn pieces(ascii: bool) -> Vec<(&'static str, String)> {
    let month_full = title_or_upper(MONTHS);
    let month_abbr = title_or_upper(MONTH_ABBRS);
    let (upper, letter) = if ascii { ("[A-Z]", "A-Za-z'") } else { (r"\p{Lu}", r"\p{L}\p{M}'’") };
    vec![
        ("%B%", r"(?-u:\b)".to_string()),
        // A name word: capitalized or all capitals, letters with inner apostrophes, optionally
        // hyphenated ("O'Brien", "Smith-Jones", "MCDONALD", "Müller").
        ("%NW%", format!("{upper}[{letter}]*(?:-{upper}[{letter}]*)?")),
        ("%INIT%", format!(r"{upper}\.")),
        // "First Last", "First M. Last", "J. Last", up to four words.
        ("%NAMESEQ%", r"(?:%INIT% )?%NW%(?: (?:%INIT%|%NW%)){0,3}".to_string()),
        // "Last, First", "Last, First M."
        ("%NAMECOMMA%", r"%NW%, ?%NW%(?: (?:%INIT%|%NW%))?".to_string()),
        (
            "%TITLE%",
            r"(?:(?:Dr|Mr|Mrs|Ms|Mx|Prof|DR|MR|MRS|MS|MX|PROF|dr|mr|mrs|ms|prof)\.|(?:Dr|Mr|Mrs|Ms|Mx|Prof|Miss|MISS|Doctor|DOCTOR|Professor|PROFESSOR)%B%)"
                .to_string(),
        ),
        ("%MONTH%", format!("(?:{month_full}|{month_abbr})")),
        ("%MONTHFULL%", format!("(?:{month_full})")),
        // Month names in lower case ("seen on january 27", "11-sep-2017"), for the rules that
        // also see a day or a year, or a temporal cue.
        ("%MONTHLOWER%", format!("(?:{}|{})", MONTHS.join("|").to_lowercase(), MONTH_ABBRS.join("|").to_lowercase())),
        ("%MONTHANY%", "(?:%MONTH%|%MONTHLOWER%)".to_string()),
        ("%ORD%", "(?:st|nd|rd|th|ST|ND|RD|TH)".to_string()),
        ("%YEAR4%", "(?:1[89][0-9]{2}|20[0-9]{2})".to_string()),
        ("%STATEABBR%", format!("(?:{})", alternation(STATE_ABBRS))),
        ("%STATE%", format!("(?:{}|{})%B%", alternation(STATE_ABBRS), title_or_upper(STATE_NAMES))),
        ("%ZIP5%", "[0-9]{5}(?:-[0-9]{4})?".to_string()),
        (
            "%STREETSUFFIX%",
            format!("(?:(?:{})%B%|(?:{})%B%\\.?)", title_or_upper(STREET_WORDS), alternation(STREET_ABBRS)),
        ),
        ("%DIR%", "(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West|NORTH|SOUTH|EAST|WEST)%B%\\.?".to_string()),
        ("%STREETWORD%", "(?:%NW%|[0-9]{1,3}%ORD%)".to_string()),
        (
            "%UNIT%",
            "(?:(?:Apt|APT|Apartment|APARTMENT|Suite|SUITE|Ste|STE|Unit|UNIT|Room|ROOM|Rm|RM|Bldg|BLDG|Building|BUILDING|Floor|FLOOR|Fl|FL|Lot|LOT)%B%\\.?[ ]?#?|#[ ]?)[0-9A-Za-z][0-9A-Za-z-]{0,5}"
                .to_string(),
        ),
        ("%CITY%", r"%NW%\.?(?: %NW%\.?){0,2}".to_string()),
        ("%CITYSTATEZIP%", r",[ ]*%CITY%,?[ ]+%STATE%(?:,?[ ]+%ZIP5%)?".to_string()),
        // A North American number: (555) 555-5555, 555-555-5555, 555.555.5555, 555/555-5555,
        // with an optional +1 and extension. The exchange cannot start with 0 or 1.
        (
            "%PHONE%",
            r"(?:\+?1[-. ]?)?(?:\([2-9][0-9]{2}\)[ -]?[2-9][0-9]{2}[-. ][0-9]{4}|[2-9][0-9]{2}-[2-9][0-9]{2}-[0-9]{4}|[2-9][0-9]{2}\.[2-9][0-9]{2}\.[0-9]{4}|[2-9][0-9]{2}/[2-9][0-9]{2}-[0-9]{4})%EXT%"
                .to_string(),
        ),
        // After a phone or fax label, any layout of 7 or 10 digits.
        (
            "%PHONEANY%",
            r"(?:(?:\+?1[-. ]?)?(?:\([0-9]{3}\)[ ]?|[0-9]{3}[-. /]?)?[0-9]{3}[-. ]?[0-9]{4}%EXT%|[Xx]?[0-9]-[0-9]{4}%B%)".to_string(),
        ),
        ("%EXT%", r"(?:[ ]?(?i:x|ext\.?|extension)[ ]?[0-9]{1,5})?%B%".to_string()),
        ("%LABELNUM%", r"(?:[ ]*(?i:number|num|no\.?|#))?[ \t]*[:#.=-]?[ \t]*".to_string()),
        // A month/day (or month/2-digit year) without a year: "8/14", "12/07". Alone it is as
        // often a ratio, a score or a dose, so every rule using it adds context.
        ("%MD%", "[0-9]{1,2}/[0-9]{1,2}".to_string()),
        ("%RANGESEP%", "[ ]?(?:-|–|(?i:to|thru|through|until|till))[ ]?".to_string()),
        ("%STATEFULL%", format!("(?:{})%B%", title_or_upper(STATE_NAMES))),
        // Credentials written after a name (case as written; dotted forms carry their own end).
        (
            "%CRED%",
            r"(?:(?:MD|RN|NP|PA-C|DO|LPN|CNA|PhD|PHD|DPM|DDS|DMD|CRNA|CNM|FNP|FNP-C|FNP-BC|APRN|ARNP|ACNP|DNP|LCSW|MSW|RRT|MSN|BSN|NP-C|PharmD|PHARMD|MBBS|FACS|FACP|FACC|RPh|SLP|CCC-SLP)%B%|M\.D\.|R\.N\.|Ph\.D\.|D\.O\.|N\.P\.)".to_string(),
        ),
        (
            "%RELATION%",
            r"(?i:wife|husband|son|daughter|mother|father|sister|brother|mom|dad|aunt|uncle|niece|nephew|grandson|granddaughter|grandmother|grandfather|grandma|grandpa|fiancee?|fiancée?|partner|boyfriend|girlfriend|spouse|cousin|stepson|stepdaughter|stepmother|stepfather|stepdad|stepmom|friend|neighbor|neighbour|roommate|caregiver|guardian|sibling|significant[ ]+other|hcp|poa|proxy)".to_string(),
        ),
        (
            "%FACILITY%",
            format!(
                "(?:{})%B%",
                title_or_upper(&[
                    "Medical Center", "Medical Centre", "Med Center", "Health Center", "Health Centre",
                    "Health System", "Health Care Center", "Healthcare", "Health Care", "Nursing Home",
                    "Nursing Center", "Nursing Facility", "Rehabilitation Center", "Rehabilitation Hospital",
                    "Rehabilitation Institute", "Care Center", "Surgery Center", "Surgical Center",
                    "Cancer Center", "Cancer Institute", "Heart Institute", "Medical Group",
                    "Medical Associates", "Family Practice", "Urgent Care", "Nursing and Rehab", "Nursing and Rehabilitation",
                    "Nursing & Rehab", "Nursing & Rehabilitation", "Behavioral Health", "Hospital", "Hospitals", "Clinic",
                    "Clinics", "Health", "Rehab", "Rehabilitation", "Institute", "Infirmary", "Hospice",
                    "Sanitarium", "Sanatorium", "Center", "Centre", "Memorial", "General", "Regional",
                    "Associates", "Partners", "Specialists",
                ])
            ),
        ),
        // Words before a place: "lives in", "moved back to", "transferred from", "native of".
        (
            "%LOCCUE%",
            r"(?i:(?:lives|living|lived|live|resides|residing|resided|moved|relocated|born|raised|grew[ ]+up|native|visiting|vacationing|vacationed|vacation|traveled|travelled|traveling|travelling|trip|cruise|stationed|deployed|transferred|flew|drove|immigrated|emigrated|originally|hometown)(?:[ ]+(?:here|there|back|down|up|over|out|away|alone|now|currently|originally|recently|briefly|nearby|locally|abroad))?[ ]+(?:in|from|to|of|at|near|outside(?:[ ]+of)?)|visited(?:[ ]+(?:family|relatives|friends|(?:his|her|their)[ ]+(?:family|relatives)))?[ ]+(?:in|to)|(?:lives|living|lived|resides)[ ]+(?:with|w/)[ ]+(?:(?:his|her|their|a)[ ]+)?[a-z-]+[ ]+in|in[ ]+an?[ ]+(?:[a-z-]+[ ]+){0,2}(?:apartment|house|home|condo|trailer|townhouse)[ ]+in|resident[ ]+of|came[ ]+to[ ]+(?:this[ ]+country|the[ ]+(?:us|u\.s\.|united[ ]+states))[ ]+from)".to_string(),
        ),
        // Labels of identifiers other than the medical record number: accounts, visits, claims,
        // health-plan member, group and policy numbers, provider numbers, licenses, accession
        // and specimen numbers, device serials. `refine_mrn` asks the weak ones ("unit",
        // "case", "visit", "model", "job") for a number word or a sign ("Unit no:", "Case #").
        (
            "%IDLABEL%",
            r"(?:account|acct|visit|encounter|enc|claim|case|invoice|billing|member|subscriber|group|policy|beneficiary|insurance|ins|medicare|medicaid|npi|dea|upin|license|licence|accession|acc|specimen|requisition|job|confirmation|tracking|serial|sn|s/n|device|unit|id|identifier)%B%\.?".to_string(),
        ),
        (
            "%PHONECUE%",
            r"(?i:phone|ph|tel|telephone|cell|cellphone|mobile|call|called|calling|callback|reach|reached|contact|contacted|number|pager|beeper|pgr|text|texted|voicemail|vm|message|lm)".to_string(),
        ),
    ]
}

fn expand(pattern: &str, ascii: bool) -> String {
    let pieces = pieces(ascii);
    let mut out = pattern.to_string();
    for _ in 0..8 {
        let before = out.clone();
        for (key, value) in &pieces {
            if out.contains(key) {
                out = out.replace(key, value);
            }
        }
        if out == before {
            break;
        }
    }
    debug_assert!(!pieces.iter().any(|(key, _)| out.contains(key)), "unexpanded key in {out}");
    out
}

fn compile(pattern: &str) -> Regex {
    let expanded = expand(pattern, false);
    RegexBuilder::new(&expanded)
        .size_limit(64 << 20)
        .dfa_size_limit(8 << 20)
        .build()
        .unwrap_or_else(|e| panic!("deid pattern does not compile: {e}\n{expanded}"))
}

// --- rules ------------------------------------------------------------------------------------

/// The groups of one rule inside a match: group 0 is the rule's whole match, group i its i-th
/// group, whether the match came from the rule's own regex (`base` 0) or from the combined one.
struct Groups<'c, 'h> {
    caps: &'c Captures<'h>,
    base: usize,
}

impl<'h> Groups<'_, 'h> {
    fn get(&self, group: usize) -> Option<Match<'h>> {
        self.caps.get(self.base + group)
    }
}

/// Validates a match and returns the PHI part of it (byte offsets), or None to reject it.
type Refine = fn(&str, &Groups) -> Option<(usize, usize)>;

struct Rule {
    name: &'static str,
    kind: PhiType,
    pattern: &'static str,
    /// The rule alone (tests, diagnostics and the group count); detection uses `Engine`.
    regex: Regex,
    refine: Refine,
}

fn rule(name: &'static str, kind: PhiType, pattern: &'static str, refine: Refine) -> Rule {
    Rule { name, kind, pattern, regex: compile(pattern), refine }
}

/// The rules of one group as one regex, `(rule_a)|(rule_b)|...`: one leftmost-first pass over
/// the text finds the next position where any of them matches, trying them in list order there.
struct Group {
    /// For any text.
    combined: Regex,
    /// The same rules with ASCII letter classes, for ASCII texts: same matches, faster.
    combined_ascii: Regex,
    /// (rule index, index of the rule's outer group in the combined regexes), in rule order.
    bases: Vec<(usize, usize)>,
}

/// The rules, and their groups. One regex of all rules is one automaton whose states multiply
/// with every rule that can be in progress at once (cue words, name sequences, numbers), and its
/// lazy DFA thrashes; a few groups, each scanned once, stay fast.
struct Engine {
    rules: Vec<Rule>,
    groups: Vec<Group>,
}

/// The first rule of each group after the first (consecutive runs of `rules()`): titles, labels
/// and credentials; cue-found names, addresses and phones; dates with a month or three parts and
/// ages; month/day dates and bare years (apart from `date_numeric`, see the header); ZIP codes,
/// hospitals and places; hospitals after a care verb.
const GROUP_STARTS: &[&str] = &["name_cue", "date_iso", "date_md", "zip", "hospital_cued"];

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let rules = rules();
    let mut starts: Vec<usize> = GROUP_STARTS
        .iter()
        .map(|name| rules.iter().position(|r| r.name == *name).unwrap_or_else(|| panic!("no deid rule {name}")))
        .collect();
    starts.insert(0, 0);
    starts.push(rules.len());
    let groups = starts
        .windows(2)
        .map(|range| {
            let members = range[0]..range[1];
            let mut bases = Vec::with_capacity(members.len());
            let mut next = 1;
            for index in members.clone() {
                bases.push((index, next));
                next += rules[index].regex.captures_len(); // its own groups, plus the outer one
            }
            let build = |ascii: bool| {
                let alternatives: Vec<String> =
                    members.clone().map(|i| format!("({})", expand(rules[i].pattern, ascii))).collect();
                let combined = RegexBuilder::new(&alternatives.join("|"))
                    .size_limit(256 << 20)
                    .dfa_size_limit(8 << 20)
                    .build()
                    .unwrap_or_else(|e| panic!("a combined deid regex does not compile: {e}"));
                assert_eq!(combined.captures_len(), next, "group bookkeeping of the combined regex");
                combined
            };
            Group { combined: build(false), combined_ascii: build(true), bases }
        })
        .collect();
    Engine { rules, groups }
});

/// The rules in priority order: where two rules match at the same position, the earlier one
/// wins, so the more specific (labeled) and the longer forms come first.
fn rules() -> Vec<Rule> {
    use PhiType::*;
    vec![
        rule(
            "email",
            Email,
            r"%B%([A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,})%B%",
            group1,
        ),
        rule(
            "url",
            Url,
            r#"(?i:%B%(?:https?|ftp)://[^ \t\r\n<>"'`\\]+|%B%www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:[/?#][^ \t\r\n<>"'`\\]*)?|%B%[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.(?:com|org|net|edu|gov|mil|io|info|biz|health)%B%(?:[/?#][^ \t\r\n<>"'`\\]*)?)"#,
            refine_url,
        ),
        rule(
            "ssn_labeled",
            Ssn,
            r"%B%(?i:ssn|ss#|ss[ ]?no\.?|social[ ]+security(?:[ ]+(?:number|no\.?|#))?|soc\.?[ ]+sec\.?(?:[ ]+(?:number|no\.?|#))?)[ \t]*[:#=-]?[ \t]*([0-9Xx*]{3}[- ]?[0-9Xx*]{2}[- ]?[0-9]{4})%B%",
            group1,
        ),
        rule(
            "mrn_labeled",
            Mrn,
            r"%B%(?:(?i:mrn|mr[ ]?#|mr[ ]?(?:no|num|number)\.?|medical[ ]+record(?:[ ]+(?:number|num|no\.?|#))?|med\.?[ ]*rec(?:ord)?\.?[ ]*(?:number|num|no\.?|#)|hospital[ ]+(?:number|num|no\.?|#)|patient[ ]+(?:id|number|no\.?|#)|pt\.?[ ]+(?:id|no\.?|#)|chart[ ]+(?:number|num|no\.?|#)|health[ ]+plan|medical[ ]+aid|driver'?s[ ]+licen[cs]e|%IDLABEL%)|FIN|CSN|HAR)(?:[ ]*(?i:number|num|no\.?|#|ids?|code))?[ \t]*(?:(?i:is|of)[ \t]+)?[:#=.-]{0,2}[ \t]*#?[ \t]*([A-Za-z0-9]+(?:-[A-Za-z0-9]+){0,4})%B%",
            refine_mrn,
        ),
        // "DOE, JOHN  1234567  01/02/1950": the record number of a patient banner, between the
        // name in capitals and the birth date.
        rule(
            "mrn_banner",
            Mrn,
            r"(?m:^)[ \t]*[A-Z][A-Z'-]+(?:,?[ ][A-Z][A-Z'-]+){1,3}[ \t]{2,}([A-Z]{0,3}[0-9][0-9-]{3,12}[0-9])[ \t]{2,}[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}%B%",
            group1,
        ),
        // "username: jdoe7", "Login torpey42", "note entered by jsmith3": an account name.
        rule(
            "username_labeled",
            Mrn,
            r"%B%(?i:(?:portal[ ]+|epic[ ]+|user[ ]*)?(?:username|user[ ]+name|user[ ]*id|login|log[ ]?in[ ]+id|userid)|(?:entered|logged|accessed|modified)[ ]+by)[ \t]*[:#=]?[ \t]*([A-Za-z][A-Za-z0-9._'-]{2,40}[A-Za-z0-9])%B%",
            refine_username,
        ),
        rule("fax_labeled", Fax, r"%B%(?i:fax|facsimile|telefax)%LABELNUM%(%PHONEANY%)", refine_phone_labeled),
        rule(
            "phone_labeled",
            Phone,
            r"%B%(?i:phone|ph|tel|telephone|cell|cellphone|cell[ ]phone|mobile|home|work|office|pager|beeper|contact|call|callback|call[ ]back|daytime|evening)%LABELNUM%(?:(?i:at)[ \t]+)?(%PHONEANY%)",
            refine_phone_labeled,
        ),
        rule(
            "name_label",
            Name,
            r"(?:%B%(?i:patient|patient'?s[ \t]+name|patient[ \t]+name|pt[ \t]+name|full[ \t]+name|legal[ \t]+name|provider|attending|attending[ \t]+(?:physician|provider|surgeon|md|doctor)|primary[ \t]+care|primary[ \t]+care[ \t]+(?:physician|provider|doctor)|pcp|referring|referring[ \t]+(?:physician|provider|doctor|md)|surgeon|assistant[ \t]+surgeon|anesthesiologist|resident|fellow|physician|nurse|consultant|consulting[ \t]+physician|guarantor|emergency[ \t]+contact|next[ \t]+of[ \t]+kin|contact[ \t]+person|responsible[ \t]+party|author|primary[ \t]+md|(?:electronically[ \t]+)?signed|co-?signed|interpreter|translator|chaplain|therapist|social[ \t]+worker|case[ \t]+manager|dietitian|pharmacist|coordinator|witness|scribe)[ \t]*[:#][ \t,]*|(?:(?m:^)|[|;])[ \t]*(?i:name)[ \t]*:[ \t,]*|%B%(?i:dictated|signed|electronically[ \t]+signed|cosigned|co-signed|transcribed|attested|authenticated|verified|interpreted|prepared)[ \t]+(?i:by)[ \t]*:?[ \t]*)(%TITLE%[ \t]{1,3})?(%NAMECOMMA%|%NAMESEQ%)",
            refine_name_label,
        ),
        // "Dr. Smith", "Dr.Fanaro" (a dotted title glued to the name).
        rule("name_title", Name, r"%B%%TITLE%[ \t]{0,3}(%NAMESEQ%)", refine_name_title),
        // "dr. john doe", "dr Smith": a lowercase title, the name in any case.
        rule(
            "name_title_lower",
            Name,
            r"%B%(?:(?:dr|drs|mrs|mr|ms)\.[ \t]{0,3}|(?:dr|drs|mrs)[ \t]{1,3})([A-Za-z][a-z'-]+(?:[ ][A-Za-z][a-z'-]+)?)%B%",
            refine_name_title_lower,
        ),
        // "DR JONES", "MRS SMITH": an all-capitals title without its period.
        rule(
            "name_title_caps",
            Name,
            r"%B%(?:DR|MRS)[ ]{1,2}([A-Z][A-Z'-]+(?:[ ][A-Z][A-Z'-]+)?)%B%",
            refine_name_title_caps,
        ),
        // "John Smith, MD", "J. Smith, NP", "Rebecca Richardson, MD".
        rule("name_credential", Name, r"%B%(%NAMESEQ%)(,)?[ ]{1,2}(%CRED%)", refine_name_credential),
        // "-- jane roe, rn" at a line start, after a sentence or after "by", "per", "with", ...
        rule(
            "name_credential_lower",
            Name,
            r"(?:(?m:^)[ \t]*(?:-{1,2}[ \t]*)?|[.;][ \t]+|%B%(?i:by|per|with|to|from|and|signed)[ \t]+)([a-z][a-z'-]+[ ][a-z][a-z'-]+),[ ]?(?:rn|md|np|lpn|cna|pa-c|crna|rd|pt|ot|rt|slp|pa)%B%",
            refine_name_credential_lower,
        ),
        // "per W. Smith", "spoke with Mary Jones", "called John Doe": two words or more.
        rule(
            "name_cue",
            Name,
            r"%B%(?i:per|spoke[ ]+(?:with|to)|talked[ ]+(?:with|to)|called|paged|notified|discussed[ ]+with|d/w|informed|seen[ ]+by|evaluated[ ]+by|examined[ ]+by|reviewed[ ]+with|consulted|signed[ ]+out[ ]+to|report[ ]+(?:given[ ]+)?to|(?:left[ ]+(?:a[ ]+)?)?message[ ]+(?:left[ ]+)?(?:for|with)|read[ ]+by|reviewed[ ]+by|followed[ ]+by|taken[ ]+by|referred[ ]+by|covered[ ]+by|co-?signed(?:[ ]+by)?|countersigned(?:[ ]+by)?|referring)[ \t]+(%NAMECOMMA%|%NAMESEQ%)",
            refine_name_cue,
        ),
        // "wife (Mary", "his daughter Ann", "son, Robert,", "husband Joe".
        rule(
            "name_relation",
            Name,
            r"%B%%RELATION%(?:-in-law)?(?:[ \t]+|[ \t]*([,(])[ \t]*)(%NAMESEQ%)",
            refine_name_relation,
        ),
        // "RN Mary", "nurse Kelly", "resident Lee" ("attending" and "fellow" only capitalized: "attending
        // Maize High School", "my fellow Americans").
        rule(
            "name_role",
            Name,
            r"%B%(?:RN|LPN|NP|CNA|PCP|[Nn]urse|NURSE|[Rr]esident|[Ii]ntern|Fellow|FELLOW|Attending|ATTENDING|[Cc]harge[ ]+(?:[Nn]urse|RN)|[Tt]herapist|[Pp]harmacist|[Ss]ocial[ ]+[Ww]orker|[Cc]ase[ ]+[Mm]anager|[Cc]haplain|[Dd]ietitian|[Nn]utritionist|[Ss]urgeon|[Aa]nesthesiologist|[Cc]oordinator|[Ii]nterpreter|[Tt]ranslator|[Tt]echnician|[Mm]idwife)[ \t]+(%NAMESEQ%)",
            refine_name_role,
        ),
        // "attending: john doe": a staff label before a lowercase name.
        rule(
            "name_label_lower",
            Name,
            r"%B%(?i:attending|resident|fellow|intern|nurse|rn|np|pcp|surgeon|physician|provider|md|doctor)[ \t]*:[ \t]*([a-z][a-z'-]+[ ][a-z][a-z'-]+)%B%",
            refine_name_label_lower,
        ),
        // "Technologist: AV", "tech: G.K.F.": a staff member's initials after a staff label.
        rule(
            "name_staff_initials",
            Name,
            r"%B%(?i:technologist|tech|transcriptionist|typist|scribe|sonographer|radiographer|phlebotomist)[ \t]*(:?)[ \t]*((?:[A-Za-z]\.){1,4}|[A-Z]{2,4}|[a-z]{2,3})(?:[ \t]*[.,;]|[ \t]*(?m:$))",
            refine_name_staff_initials,
        ),
        // "P. Treford/BC", "R. Durkin/JF  D: 3/25/04": the typist's initials after the dictating
        // physician's name.
        // (The match starts at the slash: the name before it is name_before_slash's finding.)
        rule("name_slash_initials", Name, r"/((?:[A-Z]\.)+|[A-Z]{2,4}%B%)", refine_name_slash_initials),
        // "N. Toszeski/ATC": the dictating physician before the typist's initials.
        rule("name_before_slash", Name, r"%B%(%INIT%[ ]?%NW%)/(?:[A-Z]\.|[A-Z]{2,4}%B%)", refine_name_before_slash),
        // "DOE, JOHN  1234567  01/02/1950": the patient's name in a banner line, before the record
        // number and the birth date.
        rule(
            "name_banner",
            Name,
            r"(?m:^)[ \t]*([A-Z][A-Z'-]+(?:,?[ ][A-Z][A-Z'-]+){1,3})[ \t]{2,}[A-Z]{0,3}[0-9][0-9-]{3,12}[0-9][ \t]{2,}[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}%B%",
            refine_name_banner,
        ),
        // "-- J.L.S.", "-- TRP" alone on a line: initials as a signature.
        rule(
            "name_signature_initials",
            Name,
            r"(?:(?m:^)[ \t]*-{1,2}[ \t]*((?:[A-Z]\.){2,4}|[A-Z]{2,4})|[.!][ \t]+-[ \t]?((?:[A-Za-z]\.){2,4}))[ \t]*(?m:$)",
            refine_name_signature_initials,
        ),
        // "From: Ikbal Hivrerov", "RE: RICARDO MOUNTAIN", "Message: SAMIC, KRYSTAL", "cc: I. Sakqui":
        // a message header.
        rule(
            "name_header",
            Name,
            r"(?:(?m:^)[ \t]*(?i:from|re|to|message|msg|cc|attn|caller|call[ ]+from)|%B%(?i:re))[ \t]*:[ \t]*(%NAMECOMMA%|%NAMESEQ%|[a-z][a-z'-]+,[ ][a-z][a-z'-]+)",
            refine_name_header,
        ),
        // "spoke w/ lopa (daughter)", "Shertell, Eindar (father)", "from: alister prorquist (brother)":
        // a name right before the relationship in parentheses.
        rule(
            "name_before_relation",
            Name,
            r"%B%((?:[A-Za-z][A-Za-z'-]*,[ ])?[A-Za-z][A-Za-z'-]*(?:[ ][A-Za-z][A-Za-z'-]*)?)[ ]?\((?i:pt'?s[ ]+|patient'?s[ ]+)?%RELATION%(?:-in-law)?\)",
            refine_name_before_relation,
        ),
        // "-- M. Jones" alone on a line (a signature).
        rule(
            "name_signature",
            Name,
            r"(?m:^)[ \t]*-{1,2}[ \t]*(%INIT%[ ]?%NW%(?:[ ]%NW%)?)[ \t]*(?m:$)",
            refine_name_signature,
        ),
        rule(
            "address",
            Address,
            r"%B%([0-9]{1,6}[A-Z]?(?:-[0-9]{1,5})?[ ]+(?:%DIR%[ ]+)?(?:%STREETWORD%[ ]+){1,4}%STREETSUFFIX%(?:[ ]+%DIR%)?(?:,?[ ]+%UNIT%)?(?:%CITYSTATEZIP%)?)",
            group1,
        ),
        rule(
            "po_box",
            Address,
            r"%B%((?i:p\.?[ ]?o\.?[ ]*box|post[ ]+office[ ]+box)[ ]*#?[ ]*[0-9]+(?:%CITYSTATEZIP%)?)",
            group1,
        ),
        rule("phone", Phone, r"(%PHONE%)", refine_phone),
        rule("phone_intl", Phone, r"(\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,6})", refine_phone_intl),
        // "(555) 123 4567": a parenthesized area code makes any exchange a phone number.
        rule("phone_paren", Phone, r"(\([0-9]{3}\)[ ]?[0-9]{3}[ -][0-9]{4}%EXT%)", refine_phone),
        // "call his wife at 555-1234", "cell is 555 123 4567": a phone word, a few lowercase
        // words, then a 7-digit or spaced 10-digit number.
        rule(
            "phone_cue_near",
            Phone,
            r"%B%%PHONECUE%[a-z ,:'#.()/-]{0,30}?(\(?[0-9]{3}\)?[ ][0-9]{3}[ ][0-9]{4}|[2-9][0-9]{2}-[0-9]{4}|[0-9]-[0-9]{4})%B%",
            refine_phone_near,
        ),
        // "call back at 555-1234", "cb 928-0296", "# 343-8582", "at x 455": a local number after
        // "at" or a call-back mark (times after "at" have no dash: "at 1400").
        rule(
            "phone_at",
            Phone,
            r"(?:%B%(?i:at|cb|c/b|callback|call[ ]back)|#)[ \t]*:?[ \t]*(\([2-9][0-9]{2}\)[ ]?[2-9][0-9]{2}[ -][0-9]{4}|[2-9][0-9]{2}[ ][2-9][0-9]{2}[ ][0-9]{4}|[2-9][0-9]{9}|[2-9][0-9]{2}-[0-9]{4}|[Xx]?[0-9]-[0-9]{4}|[Xx][ ]?[0-9]{3,5})%B%",
            refine_phone_at,
        ),
        // "(553 247 0856)": ten digits in parentheses.
        rule("phone_paren_all", Phone, r"\(([2-9][0-9]{2}[ .-][2-9][0-9]{2}[ .-][0-9]{4})\)", refine_phone),
        // "Shertell, Eindar (father) 440-275-5408", "(aunt) 457 974 0530": a number after a relation.
        rule(
            "phone_relation",
            Phone,
            r"%RELATION%(?:-in-law)?\)[ \t]*[:,-]?[ \t]*(\(?[2-9][0-9]{2}\)?[ .-]?[2-9][0-9]{2}[ .-]?[0-9]{4}|[2-9][0-9]{2}-[0-9]{4})%B%",
            refine_phone,
        ),
        // "x4-5678", "ext 22", "extension 4410".
        rule(
            "phone_ext",
            Phone,
            r"%B%(x[0-9]-[0-9]{4}|(?i:ext|extension)\.?[ ]?#?[ ]?[0-9]{2,5})%B%",
            refine_phone_ext,
        ),
        // "pgr 1234", "pager #54321".
        rule(
            "phone_pager",
            Phone,
            r"%B%(?i:pgr|pager|beeper|bpr)[ \t]*[#:]?[ \t]*([0-9]{4,5}|[0-9]-[0-9]{4})%B%",
            refine_pager,
        ),
        rule("ssn", Ssn, r"%B%([0-9]{3})-([0-9]{2})-([0-9]{4})%B%", refine_ssn),
        rule(
            "ipv4",
            Ip,
            r"%B%((?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))%B%",
            refine_ipv4,
        ),
        rule("ipv6", Ip, r"%B%([0-9A-Fa-f]{1,4}(?:::?[0-9A-Fa-f]{1,4}){2,7})%B%", refine_ipv6),
        rule("date_iso", Date, r"%B%(%YEAR4%)([-/.])([0-9]{1,2})([-/.])([0-9]{1,2})", refine_date_iso),
        rule(
            "date_numeric",
            Date,
            r"%B%([0-9]{1,2})([-/.])([0-9]{1,2})([-/.])([0-9]{4}|[0-9]{2})%B%",
            refine_date_numeric,
        ),
        // "discharged1/19/93": a full slashed date glued to the word before it (dictation).
        rule(
            "date_glued",
            Date,
            r"[a-z]((?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12][0-9]|3[01])/(?:(?:19|20)[0-9]{2}|[0-9]{2}))%B%",
            refine_date_loose,
        ),
        // "12/ 25/2009": a stray space next to a slash of a date with a 4-digit year.
        rule(
            "date_spaced",
            Date,
            r"%B%((?:0?[1-9]|1[0-2])[ ]?/[ ]?(?:0?[1-9]|[12][0-9]|3[01])[ ]?/[ ]?(?:19|20)[0-9]{2})%B%",
            refine_date_loose,
        ),
        rule(
            "date_day_month",
            Date,
            r"%B%([0-9]{1,2})(%ORD%)?([ ]+(?i:of)[ ]+|[ ]+|-|/)(%MONTHANY%)\.?(?:(,?[ ]+|-|/)(%YEAR4%|[0-9]{2}))?%B%",
            refine_date_day_month,
        ),
        rule(
            "date_month_day",
            Date,
            r"%B%(%MONTHANY%)(?:\.?[ ]+|\.|-)(?:(?i:the)[ ]+)?([0-9]{1,2})(%ORD%)?%B%(?:(?:,[ ]*|[ ]+|-|,?[ ]+(?i:of)[ ]+)(%YEAR4%|'[0-9]{2})%B%)?",
            refine_date_month_day,
        ),
        rule(
            "date_month_year",
            Date,
            r"%B%(%MONTHANY%)\.?,?[ ]+(?:(?i:of)[ ]+)?(%YEAR4%%B%|'[0-9]{2}%B%)",
            refine_date_month_year,
        ),
        rule("date_month_slash_year", Date, r"%B%(0?[1-9]|1[0-2])/((?:19|20)[0-9]{2})%B%", refine_month_slash_year),
        // "'98", "in '98": an apostrophe before two digits is a year.
        // "'98", "in '98", "the '90s": an apostrophe before two digits is a year.
        rule("date_year_apostrophe", Date, r"(?:(?m:^)|[ \t(\[])('[0-9]{2}(?:'?s)?)%B%", refine_year_apostrophe),
        // "TURP for BPH 1980s", "1960s and 1970s": a decade written with four digits is a date
        // whatever precedes it.
        rule("date_decade_bare", Date, r"%B%((?:19|20)[0-9]0'?s)%B%", group1),
        // "Jan-Mar 2008", "June to August 2009": a range of months in one year.
        rule(
            "date_month_range",
            Date,
            r"%B%(%MONTHANY%)\.?(?:[ ]?[-–][ ]?|[ ]+(?i:to|through|thru)[ ]+)(%MONTHANY%)\.?,?[ ]+(%YEAR4%)%B%",
            refine_date_month_range,
        ),
        // "12JAN2008", "3MAR08": a compact military-style date in capitals.
        rule(
            "date_compact",
            Date,
            r"%B%((?:0?[1-9]|[12][0-9]|3[01])(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)(?:(?:19|20)[0-9]{2}|[0-9]{2}))%B%",
            group1,
        ),
        // "the 1990s" (not "the 90s": saturations and pressures are "in the 90s").
        rule("date_decade", Date, r"%B%(?i:the)[ ]+(?:(?i:early|late|mid)[ -]?)?((?:19|20)[0-9]0'?s)%B%", group1),
        // "died of a stroke in her 90s": a decade of life from 90 on is an age over 89.
        rule(
            "age_decade",
            Age,
            r"%B%(?i:in)[ ]+(?i:her|his|their)[ ]+(?:(?i:early|late|mid)[ -]?)?((?:9|1[01])0'?s)%B%",
            group1,
        ),
        rule("age_years_old", Age, r"%B%(9[0-9]|1[01][0-9])[- ]?(?i:years?|yrs?|y)[- ]?(?i:old)%B%", refine_age),
        rule(
            "age_short",
            Age,
            r"%B%(9[0-9]|1[01][0-9])[- ]?(?:(?i:yo|yof|yom|yowf|yowm)%B%|(?i:y/o|y\.o\.)|(?i:years?|yrs?)[ ]+(?i:of)[ ]+(?i:age)%B%)",
            refine_age,
        ),
        rule(
            "age_label",
            Age,
            r"%B%(?i:age|aged|ages)[ \t]*[:=-]?[ \t]*(?:(?i:of)[ \t]+)?(9[0-9]|1[01][0-9])%B%",
            refine_age_label,
        ),
        // "died at 93", "passed away at age 95", "deceased at 101".
        rule(
            "age_death",
            Age,
            r"%B%(?i:died|dies|passed[ ]+away|deceased|expired|death)[ ]+(?i:at|at[ ]+(?:the[ ]+)?age(?:[ ]+of)?|aged?)[ ]+(9[0-9]|1[01][0-9])%B%",
            refine_age_label,
        ),
        // "His brother, 92, is ...", "mother (95)", "her husband, 101.": an age in apposition.
        rule(
            "age_relation",
            Age,
            r"%B%%RELATION%(?:-in-law)?(?:,[ ]*|[ ]+\()(9[0-9]|1[01][0-9])%B%",
            refine_age_relation,
        ),
        // "a ninety-five-year-old", "one hundred and two years old": an age written out.
        rule(
            "age_words",
            Age,
            r"%B%((?i:ninety(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|(?:one|a)[ ]hundred(?:[ ](?:and[ ])?(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen))?))[- ](?i:years?|yrs?)[- ]?(?i:old|of[ ]+age)%B%",
            group1,
        ),
        // "03/28/1927  102M", "Age/Sex: 92F": an age glued to the sex after a birth date or label.
        rule("age_sex", Age, r"%B%(9[0-9]|1[01][0-9])(?:M|F)%B%", refine_age_sex),
        // The dates without a month name or a full numeric date: their own group, so that a
        // rejected "12/1-12" (date_numeric) cannot hide "12/1-12/5", nor a rejected "03/14"
        // hide "03/14/2025".
        // "on 4/10", "4/10-4/12", "4/10 at 14:30", "in 12/07": a month/day without a year, taken
        // only with a date cue before it, a range or a time after it (see `refine_date_md`).
        rule("date_md", Date, r"%B%(%MD%(?:%RANGESEP%%MD%)?)%B%", refine_date_md),
        // "since September", "In July", "in early March", "by mid-October": a month name alone
        // after a temporal cue (with a day or a year, the rules above have it).
        rule(
            "date_month_alone",
            Date,
            r"%B%(?i:in|since|during|until|till|before|after|from|through|thru|last|next|this|early|late|mid|by|around|starting|beginning|end[ ]+of|middle[ ]+of|month[ ]+of)[ -]+(?:(?i:early|late|mid)[ -]+)?(%MONTHFULL%|(?-i:january|february|april|june|july|august|september|october|november|december))%B%",
            refine_date_month_alone,
        ),
        // "biopsy June of this year", "in March of last year": a month alone tied to a year.
        rule(
            "date_month_of_year",
            Date,
            r"%B%(%MONTHFULL%)[ ]+(?i:of)[ ]+(?i:this|last|that|next|the[ ]+same|the[ ]+previous|the[ ]+following)[ ]+(?i:year)%B%",
            group1,
        ),
        // "on the 15th", "until the 3rd": a day of the month alone after a date cue.
        rule(
            "date_ordinal_day",
            Date,
            r"%B%(?i:on|by|until|till|since|before|after|from|starting|through|thru)[ ]+(?i:the)[ ]+([0-9]{1,2}(?i:st|nd|rd|th))%B%",
            refine_date_ordinal_day,
        ),
        // "in 2015", "since 1998", "appendectomy (1998)", "CABG 2004": a year with a temporal cue
        // or an event before it (see `refine_date_year`).
        rule(
            "date_year",
            Date,
            r"%B%((?:19|20)[0-9]{2}(?:%RANGESEP%(?:(?:19|20)[0-9]{2}|[0-9]{2}))?)%B%",
            refine_date_year,
        ),
        // "MI in 98", "since 98": a 2-digit year at the end of a clause.
        rule("date_year_short", Date, r"%B%(?i:(in|since))[ ]+([0-9]{2})%B%", refine_date_year_short),
        // "Salem, OR 97301": the ZIP code alone (its city and state are location_city_state's).
        rule("zip", Zip, r"%B%(%ZIP5%)%B%", refine_zip),
        // "Saint Joseph Hospital", "Y Valley Cardiology Center", "Mercy General", "Mayo Clinic".
        rule("hospital_facility", Hospital, r"%B%((?:(?:St\.|ST\.|%NW%)[ ]){1,4}%FACILITY%)", refine_hospital),
        // "Hospital of Bossier", "Infirmary of St. Luke": the facility word first.
        rule(
            "hospital_of",
            Hospital,
            r"%B%((?:Hospital|HOSPITAL|Infirmary|INFIRMARY|Clinic|CLINIC)[ ](?:of|OF)[ ](?:(?:the|THE)[ ])?(?:St\.[ ])?%NW%(?:[ ]%NW%){0,2})",
            refine_hospital_of,
        ),
        // "St. Mary's", "Saint Luke's".
        // The possessive is in the pattern: a rejected "St. Paul" must not hide "St. Paul, MN".
        rule(
            "hospital_saint",
            Hospital,
            r"%B%((?:St\.?|ST\.?|Saint|SAINT)[ ][A-Z][A-Za-z]*(?:'s|'S|’s|’S))%B%",
            refine_hospital_saint,
        ),
        // "Springfield, IL", "Orange, NJ", "Austin, Texas" (with a ZIP code the zip rule has it).
        rule("location_city_state", Location, r"%B%((?:%NW%\.?[ ]){0,2}%NW%),[ ]?(%STATE%)", refine_city_state),
        // "lives in Santa Cruz", "moved to Houston", "transferred from Sugar Land".
        rule(
            "location_cued",
            Location,
            r"%B%%LOCCUE%[ ]+(?:(?i:the)[ ]+)?((?:%NW%\.?[ ]){0,2}%NW%)",
            refine_location_cued,
        ),
        // "works as a driver for Aindek Auto Body", "employed by Kent & Sons", "retired from Acme
        // Insurance": an employer (reported with the health-care organizations).
        rule(
            "organization_employer",
            Hospital,
            r"%B%(?i:works?|worked|working|manager|owner|employee|clerk|supervisor|cashier|teacher|professor|student)(?:[ ]+(?i:as)[ ]+(?i:an?)[ ]+[a-z-]+|[ ]+(?i:in[ ]+the[ ]+office))?[ ]+(?i:for|at)[ ]+(?:(?i:the)[ ]+)?((?:%NW%|&)(?:[ ](?:%INIT%|%NW%|&)){0,4})|%B%(?i:employed[ ]+(?:by|at)|retired[ ]+from|program[ ]+run[ ]+by|attends[ ]+meetings[ ]+at|call[ ]+received[ ]+from)[ ]+(?:(?i:the)[ ]+)?((?:%NW%|&)(?:[ ](?:%INIT%|%NW%|&)){0,4})",
            refine_organization_employer,
        ),
        // "from Ohio", "in New York": a state name after a preposition.
        rule(
            "location_state",
            Location,
            r"%B%(?i:in|from|to|of|near|outside|across|around|throughout|at)[ ]+(%STATEFULL%)",
            refine_location_state,
        ),
        // "referred to UIHC", "seen in follow-up at MCG", "his stay here at Promise", "discharged
        // to Heartland": a facility by its initials or its one proper word after a care verb. Its own
        // group: its matches start where location_cued's do ("transferred to ...").
        rule(
            "hospital_cued",
            Hospital,
            r"%B%((?i:seen|evaluated|evaluations?|visits?|appointments?|treated|admitted|readmitted|referred|transfer|transferred|discharged|followed|presented|hospitali[sz]ed|return|returned|came|went|sent|stay|stayed|here|care|clinic|surgery|follow-?up|followup|received)(?:[ ]+(?i:up|back|here|there|initially|again|today))?(?:[ ]+(?i:by)[ ]+(?i:helicopter|ambulance|air|plane|ems|car))?)[ ]+(?i:at|to)[ ]+(?:(?i:the)[ ]+)?([A-Z]{3,6}%B%|%NW%)",
            refine_hospital_cued,
        ),
        // "employed by tata logistics", "retired from istad landscaping": an employer written in
        // lowercase, known by the kind of business its name ends in.
        rule(
            "organization_employer_lower",
            Hospital,
            r"%B%(?:(?i:works?|worked|working)(?:[ ]+as[ ]+an?[ ]+[a-z-]+|[ ]+in[ ]+the[ ]+office)?[ ]+(?:for|at)|employed[ ]+(?:by|at)|retired[ ]+from|program[ ]+run[ ]+by|attends[ ]+meetings[ ]+at|call[ ]+received[ ]+from)[ ]+((?:[a-z][a-z'-]*[ ]){1,3}[a-z]+)%B%",
            refine_organization_lower,
        ),
        // "Bowie High School", "Lincoln Elementary School": a school by its name (an organization).
        rule(
            "organization_school",
            Hospital,
            r"%B%((?:%NW%[ ]){1,3}(?:High|Middle|Elementary|Junior[ ]High|Grade|Primary)[ ]School)%B%",
            refine_school,
        ),
        // "San Juan Pediatrics", "Scotland Orthopedics": a practice named by a place or a person
        // and its specialty.
        rule(
            "hospital_practice",
            Hospital,
            r"%B%((?:%NW%[ ]){1,3}(?:Pediatrics|Orthopedics|Orthopaedics|Cardiology|Dermatology|Urology|Neurology|Oncology|Gastroenterology|Ophthalmology|Rheumatology|Podiatry|Bariatrics|Pulmonology|Nephrology|Endocrinology|Family[ ]Medicine|Internal[ ]Medicine))%B%",
            refine_hospital_practice,
        ),
    ]
}

// --- refine steps -----------------------------------------------------------------------------

fn span_of(caps: &Groups, group: usize) -> Option<(usize, usize)> {
    caps.get(group).map(|m| (m.start(), m.end()))
}

fn group1(_: &str, caps: &Groups) -> Option<(usize, usize)> {
    span_of(caps, 1)
}

fn number(caps: &Groups, group: usize) -> Option<u32> {
    caps.get(group)?.as_str().parse().ok()
}

fn prev_char(text: &str, pos: usize) -> Option<char> {
    text[..pos].chars().next_back()
}

fn next_char(text: &str, pos: usize) -> Option<char> {
    text[pos..].chars().next()
}

/// The character after `pos` is `c` and the one after that is a digit ("1.2.3" continuing).
fn continues_with_digit(text: &str, pos: usize, seps: &[char]) -> bool {
    let mut rest = text[pos..].chars();
    matches!((rest.next(), rest.next()), (Some(s), Some(d)) if seps.contains(&s) && d.is_ascii_digit())
}

fn refine_url(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, mut end) = span_of(caps, 0)?;
    let lower = text[start..end.min(start + 8)].to_ascii_lowercase();
    let bare = !(lower.starts_with("http") || lower.starts_with("ftp") || lower.starts_with("www."));
    if bare {
        // A bare "drugs.com" or "ClinicalTrials.gov" names an organization; a host name with a
        // subdomain or a path ("mychart.example.org", "example.org/p/123") points somewhere.
        let url = &text[start..end];
        let host_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let has_path = url[host_end..].len() > 1;
        // After "portal", "via", "visit", "website" a bare host is where the reader is sent.
        let pointed = words_before(text, start, 1).first().is_some_and(|w| {
            ["portal", "via", "visit", "website", "site", "sheets", "online", "at"]
                .contains(&w.to_ascii_lowercase().as_str())
        });
        if url[..host_end].matches('.').count() < 2 && !has_path && !pointed {
            return None;
        }
    }
    // Trailing sentence punctuation is not part of the address.
    while end > start {
        let c = text[..end].chars().next_back()?;
        let unbalanced_paren = c == ')' && !text[start..end].contains('(');
        if ".,;:!?".contains(c) || unbalanced_paren || c == ']' || c == '}' {
            end -= c.len_utf8();
        } else {
            break;
        }
    }
    (end > start).then_some((start, end))
}

fn refine_ipv4(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if matches!(prev_char(text, start), Some('.' | '[')) || continues_with_digit(text, end, &['.', ',']) {
        return None;
    }
    // Enzyme numbers ("EC 3.1.1.11") and chemical locants ("[3.3.1.13,7]") look the same.
    let before = text[..start].trim_end_matches([' ', ':']);
    if before.ends_with("EC") {
        return None;
    }
    Some((start, end))
}

fn refine_ipv6(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let s = &text[start..end];
    let compressed = s.matches("::").count();
    let colons = s.matches(':').count();
    // Full form has 7 colons; a compressed form has exactly one "::". Times (10:30:45) have neither.
    let ok =
        (compressed == 0 && colons == 7) || (compressed == 1 && s.split(':').filter(|p| !p.is_empty()).count() >= 2);
    if !ok || matches!(next_char(text, end), Some(':')) || matches!(prev_char(text, start), Some(':')) {
        return None;
    }
    Some((start, end))
}

fn refine_ssn(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (area, group, serial) = (number(caps, 1)?, number(caps, 2)?, number(caps, 3)?);
    let (start, end) = span_of(caps, 0)?;
    let valid = area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
    if !valid || matches!(prev_char(text, start), Some('-')) || continues_with_digit(text, end, &['-']) {
        return None;
    }
    Some((start, end))
}

/// Identifier labels that are also ordinary words ("unit", "case", "visit"): they need a number
/// word or a sign after them ("Unit no:", "Case #", "Visit ID").
const WEAK_ID_LABELS: &[&str] =
    &["unit", "case", "visit", "member", "job", "device", "acc", "enc", "invoice", "billing"];

fn refine_mrn(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, mut end) = span_of(caps, 1)?;
    let token = &text[start..end];
    let label_start = caps.get(0)?.start();
    let label = &text[label_start..start];
    let label_word: String =
        label.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_lowercase();
    let digits = digit_count(token);
    let letters = token.bytes().filter(u8::is_ascii_alphabetic).count();
    let strong_sign = label.contains([':', '#']) || {
        let rest = label.to_ascii_lowercase();
        rest.split(|c: char| !c.is_ascii_alphabetic())
            .skip(1)
            .any(|w| ["no", "number", "num", "id", "ids", "code"].contains(&w))
    };
    // Three digits are an identifier only after a record's own label and its sign ("MEDICAL
    // RECORD#: 123", a template's dummy value in the shape of one).
    let record_label = strong_sign && matches!(label_word.as_str(), "mrn" | "medical" | "mr" | "chart");
    if digits < 3 || (digits == 3 && letters < 2 && !record_label) {
        return None;
    }
    if WEAK_ID_LABELS.contains(&label_word.as_str()) && !strong_sign {
        return None;
    }
    // "Boise, ID 83702" is Idaho and a ZIP code; "id 219-09-9999" is left to the SSN rule.
    let idaho =
        label_word == "id" && letters == 0 && (token.len() == 5 || (token.len() == 10 && token.as_bytes()[5] == b'-'));
    let ssn_shape = token.len() == 11 && token.split('-').map(str::len).eq([3, 2, 4]);
    if idaho || ssn_shape {
        return None;
    }
    // "group 18-65", "claim 2015": a range or a year, not an identifier, without a label sign.
    let numeric = letters == 0;
    if numeric && !strong_sign {
        let parts: Vec<&str> = token.split('-').collect();
        let year = token.len() == 4 && matches!(token.parse::<u32>(), Ok(1900..=2039));
        if year || (parts.len() == 2 && parts.iter().all(|p| p.len() <= 3)) {
            return None;
        }
    }
    // "ID 5000 units", "group of 1000 patients": an amount.
    if word_in(&NOT_DATE_AFTER_SET, word_after(text, end))
        || matches!(next_char(text, end), Some('%' | '/' | '.' | ',') if continues_with_digit(text, end, &['.', ',', '/']))
    {
        return None;
    }
    // A trailing two-digit suffix written after a space ("W042132037 72"), then punctuation or
    // the end of the line.
    if token.len() >= 8 {
        let b = text.as_bytes();
        if b.len() >= end + 3 && b[end] == b' ' && b[end + 1].is_ascii_digit() && b[end + 2].is_ascii_digit() {
            let after = b.get(end + 3).copied();
            if after.is_none_or(|c| matches!(c, b'.' | b',' | b';' | b')' | b'\n' | b'\r')) {
                end += 3;
            }
        }
    }
    Some((start, end))
}

fn refine_username(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let token = &text[start..end];
    let label = text[caps.get(0)?.start()..start].to_ascii_lowercase();
    if not_a_name_word(token) || word_in(&NOT_DATE_AFTER_SET, token) {
        return None;
    }
    let marked = token.bytes().any(|b| b.is_ascii_digit() || b == b'.' || b == b'_');
    let explicit = label.contains("user") || label.contains(':');
    // "entered by nurse", "login failed": a plain word after a verb needs what an account name
    // has (a digit, a dot) or the workstation that follows it.
    let next = word_after(text, end).to_ascii_lowercase();
    let mut window_end = (end + 40).min(text.len());
    while !text.is_char_boundary(window_end) {
        window_end -= 1;
    }
    let window = text[end..window_end].to_ascii_lowercase();
    let workstation = ["from", "at", "on", "via"].contains(&next.as_str()) && window.contains("workstation");
    let rest = window.trim_start();
    let ip_follows = rest.starts_with('(') && rest[1..].starts_with(|c: char| c.is_ascii_digit());
    (marked || explicit || workstation || ip_follows).then_some((start, end))
}

fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

fn phone_context_ok(text: &str, start: usize, end: usize) -> bool {
    let before_ok = !matches!(prev_char(text, start), Some(c) if c.is_alphanumeric() || "-./+".contains(c));
    before_ok && !continues_with_digit(text, end, &['-', '.', '/'])
}

fn refine_phone(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    phone_context_ok(text, start, end).then_some((start, end))
}

/// "6-5260", "x4-3846": a five-digit internal number (a hospital extension).
fn internal_extension(s: &str) -> bool {
    let s = s.strip_prefix(['x', 'X']).unwrap_or(s);
    let b = s.as_bytes();
    b.len() == 6 && b[0].is_ascii_digit() && b[1] == b'-' && b[2..].iter().all(u8::is_ascii_digit)
}

fn refine_phone_labeled(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let digits = digit_count(&text[start..end]);
    let shape_ok = digits >= 7
        || (internal_extension(&text[start..end])
            && !matches!(next_char(text, end), Some('/' | '%' | '.' | '-'))
            && !word_in(&NOT_DATE_AFTER_SET, word_after(text, end)));
    (shape_ok && phone_context_ok(text, start, end)).then_some((start, end))
}

fn refine_phone_intl(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, mut end) = span_of(caps, 1)?;
    while end > start && !text.as_bytes()[end - 1].is_ascii_digit() {
        end -= 1;
    }
    let digits = digit_count(&text[start..end]);
    let ok = (9..=15).contains(&digits)
        && phone_context_ok(text, start, end)
        && !matches!(next_char(text, end), Some(c) if c.is_ascii_digit());
    ok.then_some((start, end))
}

fn valid_day_month(first: u32, second: u32) -> bool {
    // month/day, or day/month when the first part cannot be a month.
    ((1..=12).contains(&first) && (1..=31).contains(&second))
        || ((13..=31).contains(&first) && (1..=12).contains(&second))
}

fn valid_year(year: &str) -> bool {
    match year.len() {
        2 => true,
        4 => matches!(year.parse::<u32>(), Ok(1800..=2099)),
        _ => false,
    }
}

/// Shared checks for three-part numeric dates: same separator twice, nothing numeric glued on.
fn numeric_date_context_ok(text: &str, caps: &Groups, sep1: usize, sep2: usize) -> bool {
    let (Some(a), Some(b), Some(whole)) = (caps.get(sep1), caps.get(sep2), caps.get(0)) else {
        return false;
    };
    let sep = a.as_str().chars().next().unwrap_or(' ');
    if a.as_str() != b.as_str() {
        return false;
    }
    if matches!(prev_char(text, whole.start()), Some(c) if c.is_ascii_digit() || c == sep) {
        return false;
    }
    !matches!(next_char(text, whole.end()), Some(c) if c.is_ascii_digit())
        && !continues_with_digit(text, whole.end(), &[sep])
}

fn refine_date_numeric(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    if !numeric_date_context_ok(text, caps, 2, 4) {
        return None;
    }
    let (first, second) = (caps.get(1)?.as_str(), caps.get(3)?.as_str());
    let year = caps.get(5)?.as_str();
    let sep = caps.get(2)?.as_str();
    if !valid_day_month(first.parse().ok()?, second.parse().ok()?) || !valid_year(year) {
        return None;
    }
    // "1.5.10" is a version or a list of values; dotted dates need a 4-digit year. Dashed dates
    // with a 2-digit year need 2-digit parts ("03-14-25"), so ranges like "5-10-15" stay.
    if sep == "." && year.len() != 4 && !date_cued(text, span_of(caps, 0)?.0) {
        return None;
    }
    if sep == "-" && year.len() == 2 && (first.len() != 2 || second.len() != 2) {
        return None;
    }
    // "PS 5/10/40", "5/10/40 %": a ventilator setting, not a date with a 2-digit year.
    if year.len() == 2 {
        let (start, end) = span_of(caps, 0)?;
        let after = word_after(text, end);
        // "pain since 03/10/03", "PA pressure.  On 05/12/08": a date cue right before the date
        // outweighs a ratio word further back.
        // Only a ratio word of the date's own clause counts: "decrease TV, review ABGs,4/18/01:"
        // is a dated entry after a list of orders.
        let clause = text[..start].rfind([',', ';']).map_or(0, |k| k + 1);
        let ratio_before = !date_cued(text, start)
            && words_before(&text[clause..], start - clause, 3).iter().any(|w| word_in(&NOT_DATE_BEFORE_SET, w));
        // "debridement on 03/16/08 of right thigh": after a date cue, "of" starts a phrase.
        let unit_after =
            word_in(&NOT_DATE_AFTER_SET, after) && !(after.eq_ignore_ascii_case("of") && date_cued(text, start));
        if after == "%" || unit_after || ratio_before {
            return None;
        }
    }
    span_of(caps, 0)
}

/// The glued and spaced slashed dates: nothing numeric or slashed continues them, and a spaced
/// one has a space (the plain form is `date_numeric`'s).
fn refine_date_loose(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if matches!(next_char(text, end), Some('/' | '%')) || continues_with_digit(text, end, &['/', '.', '-']) {
        return None;
    }
    let spaced = text[start..end].contains(' ');
    let glued = matches!(prev_char(text, start), Some(c) if c.is_ascii_lowercase());
    (spaced || glued).then_some((start, end))
}

fn refine_date_iso(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    if !numeric_date_context_ok(text, caps, 2, 4) {
        return None;
    }
    let (month, day) = (number(caps, 3)?, number(caps, 5)?);
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then(|| span_of(caps, 0)).flatten()
}

/// A word right before `pos` that cues a date ("on", "since", "until", "DOS:").
fn date_cued(text: &str, pos: usize) -> bool {
    date_cue_before(text, pos).is_some_and(|(word, _)| word_in(&DATE_CUE_SET, &word))
}

fn starts_lowercase(s: &str) -> bool {
    s.starts_with(|c: char| c.is_lowercase())
}

fn refine_date_month_day(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let day = number(caps, 2)?;
    if !(1..=31).contains(&day) {
        return None;
    }
    let has_year = caps.get(4).is_some();
    let has_ordinal = caps.get(3).is_some();
    let month = caps.get(1)?.as_str();
    // "May 5" without a year or an ordinal reads as often as not as the verb, and a month in
    // lower case ("march 5", "dec 2") as a word: both need a date cue ("until may 25").
    let weak = starts_lowercase(month) || month.eq_ignore_ascii_case("may");
    // A weak month needs a year, a cue, or an ordinal after a capitalised month ("May 5th").
    let ordinal_saves = has_ordinal && !starts_lowercase(month);
    if !has_year && weak && !ordinal_saves && !date_cued(text, caps.get(0)?.start()) {
        return None;
    }
    span_of(caps, 0)
}

fn refine_date_month_alone(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let month = &text[start..end];
    // A day or a year after it: another rule reports the whole date.
    let rest = text[end..].trim_start_matches(['.', ',', ' ', '-']);
    if rest.starts_with(|c: char| c.is_ascii_digit()) || rest.starts_with('\'') {
        return None;
    }
    // "by May" and "in May be" read as a name or the verb; "May" needs a plainer cue.
    let cue = words_before(text, start, 1).first().map(|w| w.to_ascii_lowercase()).unwrap_or_default();
    if month.eq_ignore_ascii_case("may")
        && (cue == "by" || ["be", "have", "not", "also", "need", "require"].contains(&word_after(text, end)))
    {
        return None;
    }
    // "April Smith", "June Carter": a first name, when a capitalized word follows.
    let after = word_after(text, end);
    if text[end..].starts_with(' ') && after.starts_with(|c: char| c.is_uppercase()) && !word_in(&STOP_SET, after) {
        return None;
    }
    Some((start, end))
}

fn refine_date_ordinal_day(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let day: u32 = text[start..end].trim_end_matches(|c: char| c.is_ascii_alphabetic()).parse().ok()?;
    if !(1..=31).contains(&day) {
        return None;
    }
    // "on the 5th of May" (date_day_month has it), "on the 3rd floor", "by the 2nd dose".
    let after = word_after(text, end).to_ascii_lowercase();
    const NOUNS: &[&str] = &[
        "of",
        "floor",
        "day",
        "days",
        "week",
        "weeks",
        "time",
        "times",
        "attempt",
        "try",
        "dose",
        "doses",
        "cycle",
        "cycles",
        "percentile",
        "rib",
        "ribs",
        "toe",
        "finger",
        "digit",
        "grade",
        "trimester",
        "postoperative",
        "postop",
        "hospital",
        "round",
        "visit",
        "line",
        "level",
        "ventricle",
        "intercostal",
        "lumbar",
        "cervical",
        "thoracic",
        "metacarpal",
        "metatarsal",
        "cranial",
        "nerve",
        "generation",
        "degree",
        "edition",
        "birthday",
        "year",
        "month",
        "hour",
        "minute",
        "session",
        "treatment",
        "course",
        "injection",
        "infusion",
        "one",
    ];
    if NOUNS.contains(&after.as_str())
        || MONTHS.iter().any(|m| m.eq_ignore_ascii_case(&after))
        || MONTH_ABBRS.iter().any(|m| m.eq_ignore_ascii_case(&after))
    {
        return None;
    }
    Some((start, end))
}

fn refine_date_month_range(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 0)?;
    // Two different months, and not lower-case words ("may to march 2000 ...").
    let (first, second) = (caps.get(1)?.as_str(), caps.get(2)?.as_str());
    let different = !first.eq_ignore_ascii_case(second);
    (different && !starts_lowercase(first) && year_ok(text, end)).then_some((start, end))
}

fn refine_date_month_year(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 0)?;
    // "march 2000 patients": a count after a verb; but "in January 2004 of congestive heart
    // failure": "of" after a capitalised month starts a phrase.
    let of_after = word_after(text, end) == "of" && !starts_lowercase(&text[start..end]);
    (year_ok(text, end) || of_after).then_some((start, end))
}

fn refine_date_day_month(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let day = number(caps, 1)?;
    if !(1..=31).contains(&day) {
        return None;
    }
    let has_ordinal = caps.get(2).is_some();
    let with_of = caps.get(3)?.as_str().trim().len() > 1; // " of "
    match caps.get(6) {
        // "21 Apr" is a date; "3 Mar" (medication administration record) and "5 May" (the verb)
        // need an ordinal or "of" without a year.
        None => {
            let month = caps.get(4)?.as_str();
            let ambiguous =
                month.eq_ignore_ascii_case("mar") || month.eq_ignore_ascii_case("may") || starts_lowercase(month);
            (has_ordinal || with_of || !ambiguous || date_cued(text, caps.get(0)?.start()))
                .then(|| span_of(caps, 0))
                .flatten()
        }
        Some(year) => {
            let sep = caps.get(5)?.as_str().trim_start_matches(',').trim();
            // "14 Mar 25": a 2-digit year only with '-' or '/' ("14-Mar-25").
            if year.as_str().len() == 2 && sep.is_empty() {
                return None;
            }
            span_of(caps, 0)
        }
    }
}

/// Words after a number that make it a ratio, a score, a dose or a count, not a date.
const NOT_DATE_AFTER: &[&str] = &[
    "pain",
    "painful",
    "intensity",
    "severity",
    "strength",
    "str",
    "motor",
    "power",
    "murmur",
    "murmurs",
    "systolic",
    "diastolic",
    "holosystolic",
    "pansystolic",
    "ejection",
    "sem",
    "grade",
    "pulse",
    "pulses",
    "reflex",
    "reflexes",
    "dtr",
    "dtrs",
    "vision",
    "acuity",
    "tab",
    "tabs",
    "tablet",
    "tablets",
    "pill",
    "pills",
    "cap",
    "caps",
    "capsule",
    "capsules",
    "ns",
    "nss",
    "saline",
    "dose",
    "doses",
    "mg",
    "mcg",
    "g",
    "gm",
    "gram",
    "grams",
    "ml",
    "cc",
    "l",
    "liter",
    "liters",
    "mm",
    "cm",
    "inch",
    "inches",
    "ft",
    "feet",
    "foot",
    "lb",
    "lbs",
    "pound",
    "pounds",
    "oz",
    "ounce",
    "ounces",
    "kg",
    "unit",
    "units",
    "u",
    "iu",
    "meq",
    "mmol",
    "mmhg",
    "hg",
    "bpm",
    "percent",
    "of",
    "times",
    "x",
    "hour",
    "hours",
    "hr",
    "hrs",
    "h",
    "minute",
    "minutes",
    "min",
    "mins",
    "day",
    "days",
    "week",
    "weeks",
    "wk",
    "wks",
    "month",
    "months",
    "mo",
    "mos",
    "year",
    "years",
    "yr",
    "yrs",
    "patients",
    "patient",
    "pts",
    "cases",
    "subjects",
    "people",
    "persons",
    "individuals",
    "children",
    "adults",
    "women",
    "men",
    "samples",
    "specimens",
    "cores",
    "nodes",
    "lesions",
    "views",
    "sets",
    "cups",
    "glasses",
    "drinks",
    "beers",
    "packs",
    "ppd",
    "blocks",
    "flights",
    "stairs",
    "steps",
    "miles",
    "score",
    "scale",
    "ratio",
    "split",
    "dilution",
    "normal",
    "peep",
    "fio2",
    "ps",
    "cpap",
    "rate",
    "tidal",
    "breaths",
    "vent",
    "setting",
    "settings",
    "mmse",
    "pupils",
    "french",
    "fr",
    "gauge",
    "teaspoon",
    "tsp",
    "tablespoon",
    "tbsp",
    "vial",
    "vials",
    "bag",
    "bags",
    "puff",
    "puffs",
    "spray",
    "sprays",
    "drop",
    "drops",
    "gtt",
    "gtts",
    "positive",
    "negative",
    "systems",
    "lobes",
    "degrees",
    "deg",
    "bottle",
    "bottles",
    "kcal",
    "cal",
    "calories",
    "mmol/l",
    "mg/dl",
    "cigarettes",
    "cigs",
];

/// Words shortly before a number that make it a ratio or a setting: "pain 3/10", "BP 120/80",
/// "strength 5/5", "PEEP 5/10".
const NOT_DATE_BEFORE: &[&str] = &[
    "pain",
    "range",
    "ranges",
    "ranging",
    "bp",
    "b/p",
    "sbp",
    "dbp",
    "pressure",
    "pressures",
    "strength",
    "motor",
    "power",
    "murmur",
    "grade",
    "graded",
    "vent",
    "ventilator",
    "peep",
    "fio2",
    "ps",
    "psv",
    "cpap",
    "bipap",
    "ac",
    "simv",
    "prvc",
    "imv",
    "cmv",
    "aprv",
    "setting",
    "settings",
    "vision",
    "acuity",
    "va",
    "score",
    "scored",
    "scale",
    "mmse",
    "moca",
    "gcs",
    "apgar",
    "apgars",
    "reflexes",
    "pulses",
    "ratio",
    "tab",
    "tabs",
    "dose",
    "x",
    "times",
    "rated",
    "rates",
    "rating",
    "rr",
    "tv",
    "vt",
    "pip",
    "i:e",
    "ie",
    "ett",
    "nc",
    "flexion",
    "extension",
    "rom",
    "abduction",
    "adduction",
    "rotation",
    "sats",
    "sat",
    "spo2",
    "o2",
];

/// Cues after which a fraction-like "1/2" is still read as a date ("on 1/2").
const STRONG_DATE_CUES: &[&str] = &[
    "on",
    "since",
    "until",
    "till",
    "til",
    "dated",
    "date",
    "dos",
    "dob",
    "doa",
    "dod",
    "lmp",
    "edc",
    "edd",
    "admitted",
    "readmitted",
    "discharged",
    "seen",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "today",
    "yesterday",
    "tomorrow",
    "scheduled",
    "appt",
    "appointment",
    "effective",
    "comparison",
];

/// Cues before a 4-digit number that, in nursing notes, as often start a clock time ("until 2100",
/// "from 1900 to 0700").
const TIME_CUES: &[&str] = &["until", "till", "after", "before", "around", "through", "thru", "from"];

/// Words right before a month/day that make it a date: "on 4/10", "since 12/07", "DOS: 4/10",
/// "CXR (4/10)", "Monday 4/10". "in" is taken only before a month/2-digit year.
const DATE_CUES: &[&str] = &[
    "on",
    "since",
    "from",
    "until",
    "till",
    "til",
    "thru",
    "through",
    "dated",
    "seen",
    "admitted",
    "admit",
    "readmitted",
    "discharged",
    "d/c",
    "d/c'd",
    "dc'd",
    "dcd",
    "f/u",
    "fu",
    "last",
    "next",
    "before",
    "after",
    "starting",
    "started",
    "beginning",
    "effective",
    "date",
    "dos",
    "dob",
    "doa",
    "dod",
    "lmp",
    "edc",
    "edd",
    "due",
    "today",
    "yesterday",
    "tomorrow",
    "tonight",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "scheduled",
    "sched",
    "appt",
    "appointment",
    "visit",
    "done",
    "performed",
    "drawn",
    "obtained",
    "placed",
    "inserted",
    "removed",
    "stopped",
    "discontinued",
    "resumed",
    "restarted",
    "returned",
    "return",
    "rtc",
    "expired",
    "died",
    "delivered",
    "born",
    "ct",
    "cta",
    "mri",
    "mra",
    "cxr",
    "echo",
    "tte",
    "tee",
    "ekg",
    "ecg",
    "eeg",
    "egd",
    "colonoscopy",
    "cath",
    "scan",
    "labs",
    "culture",
    "cultures",
    "bx",
    "biopsy",
    "ultrasound",
    "u/s",
    "dexa",
    "mammogram",
    "x-ray",
    "xray",
    "in",
    "comparison",
    "compared",
    "prior",
    "previous",
    "held",
    "meeting",
    "hospital",
    "center",
    "centre",
    "clinic",
    "hospice",
    "memorial",
    "general",
    "regional",
    "manor",
    "group",
    "health",
    "stopped",
    "changed",
    "switched",
    "enc",
    "encounter",
    "up",
    "house",
    "rehab",
    "care",
    "institute",
    "infirmary",
];

/// Words two before a month/day that make the noun between them a dated event: "last BM 6/9",
/// "next appt 5/2", "prior CXR 3/4".
const DATE_CUES_TWO_BEFORE: &[&str] = &["last", "next", "prior", "previous", "recent", "latest", "most"];

/// Words right before a bare year that put it in time: "in 2015", "since 1998", "early 2010".
const YEAR_CUES: &[&str] = &[
    "in", "since", "until", "till", "from", "during", "circa", "ca.", "ca", "around", "through", "thru", "before",
    "after", "early", "late", "mid", "year", "between", "by", "his", "her", "their", "your",
];

/// "the summer of 2010", "spring 2015", "class of 1990".
const SEASONS: &[&str] =
    &["spring", "summer", "fall", "autumn", "winter", "end", "beginning", "start", "middle", "year", "class", "half"];

/// Events a year follows in a history (besides the -ectomy, -plasty, ... words).
const EVENTS: &[&str] = &[
    "surgery",
    "repair",
    "replacement",
    "transplant",
    "transplantation",
    "bypass",
    "cabg",
    "ptca",
    "pci",
    "stent",
    "stents",
    "stenting",
    "ablation",
    "cath",
    "catheterization",
    "biopsy",
    "resection",
    "fusion",
    "orif",
    "tka",
    "tha",
    "tkr",
    "thr",
    "mi",
    "nstemi",
    "stemi",
    "cva",
    "tia",
    "stroke",
    "fracture",
    "fx",
    "diagnosed",
    "dx",
    "dx'd",
    "delivery",
    "c-section",
    "chemo",
    "chemotherapy",
    "radiation",
    "xrt",
    "operation",
    "amputation",
    "pacemaker",
    "aicd",
    "injury",
    "accident",
    "mva",
    "mvc",
    "quit",
    "retired",
    "married",
    "divorced",
    "widowed",
    "immigrated",
    "deceased",
    "died",
    "separated",
    "mammogram",
    "angiogram",
    "colonoscopy",
    "endoscopy",
];

static DATE_CUE_SET: LazyLock<WordSet> = LazyLock::new(|| DATE_CUES.iter().copied().collect());
static YEAR_CUE_SET: LazyLock<WordSet> = LazyLock::new(|| YEAR_CUES.iter().copied().collect());
static SEASON_SET: LazyLock<WordSet> = LazyLock::new(|| SEASONS.iter().copied().collect());
static EVENT_SET: LazyLock<WordSet> = LazyLock::new(|| EVENTS.iter().copied().collect());
static NOT_DATE_AFTER_SET: LazyLock<WordSet> = LazyLock::new(|| NOT_DATE_AFTER.iter().copied().collect());
static NOT_DATE_BEFORE_SET: LazyLock<WordSet> = LazyLock::new(|| NOT_DATE_BEFORE.iter().copied().collect());
static STRONG_DATE_CUE_SET: LazyLock<WordSet> = LazyLock::new(|| STRONG_DATE_CUES.iter().copied().collect());
static TIME_CUE_SET: LazyLock<WordSet> = LazyLock::new(|| TIME_CUES.iter().copied().collect());

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'\'' || b == b':' || b == b'-' || b == b'.'
}

/// Up to `n` tokens (letters, digits and "/'-.:" inside them, as in "b/p", "d/c'd", "x-ray",
/// "ca.") before `pos`, nearest first, trailing ":.-" dropped ("DOS:" gives "DOS"), within the
/// 60 bytes before it and on the same line.
fn words_before(text: &str, pos: usize, n: usize) -> Vec<&str> {
    let bytes = text.as_bytes();
    let floor = pos.saturating_sub(60);
    let mut out = Vec::with_capacity(n);
    let mut i = pos;
    while out.len() < n && i > floor {
        while i > floor && !is_token_byte(bytes[i - 1]) {
            if bytes[i - 1] == b'\n' {
                return out;
            }
            i -= 1;
        }
        let end = i;
        while i > floor && is_token_byte(bytes[i - 1]) {
            i -= 1;
        }
        let token = text[i..end].trim_end_matches([':', '.', '-']);
        if !token.is_empty() {
            out.push(token);
        }
    }
    out
}

/// The token after `pos` on the same line, past spaces; "%" for a percent sign, "(" when a
/// parenthesized percentage follows ("3/10 (30%)"), "" at a line end or other punctuation.
fn word_after(text: &str, pos: usize) -> &str {
    let rest = text[pos..].trim_start_matches([' ', '\t']);
    let bytes = rest.as_bytes();
    match bytes.first() {
        Some(b'%') => "%",
        Some(b'(')
            if rest[1..].trim_start().starts_with(|c: char| c.is_ascii_digit())
                && rest[..rest.len().min(12)].contains('%') =>
        {
            "("
        }
        Some(b) if b.is_ascii_alphanumeric() => {
            let len = bytes.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'/').count();
            &rest[..len]
        }
        _ => "",
    }
}

/// A month/day pair that reads as a fraction ("1/2", "3/4", "2/3").
fn fraction_like(a: u32, b: u32) -> bool {
    (2..=8).contains(&b) && a < b
}

/// The numbers of a "m/d" or "m/d-m/d" text.
fn md_numbers(s: &str) -> Vec<u32> {
    s.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect()
}

/// Shared checks for month/day dates without a year: valid parts, a forward range, nothing
/// numeric glued on, no ratio context before or after.
fn md_date_ok(text: &str, start: usize, end: usize, allow_fraction: bool) -> bool {
    let nums = md_numbers(&text[start..end]);
    let pairs: Vec<(u32, u32)> = nums.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1])).collect();
    if pairs.is_empty() || pairs.len() * 2 != nums.len() {
        return false;
    }
    // In a range one fraction-like end is fine ("3/1 to 3/5"), two are fractions ("1/2-3/4").
    // A leading zero ("03/04") is a date's, never a fraction's.
    let zero_padded = text[start..end].starts_with('0') || text[start..end].contains("/0");
    let fractions = if zero_padded { 0 } else { pairs.iter().filter(|(a, b)| fraction_like(*a, *b)).count() };
    if !allow_fraction && fractions == pairs.len() && fractions > 0 {
        return false;
    }
    if pairs.iter().any(|&(a, b)| !valid_day_month(a, b)) {
        return false;
    }
    if let [(m1, d1), (m2, d2)] = pairs[..] {
        let forward = m2 > m1 || (m2 == m1 && d2 > d1) || (m1 == 12 && m2 == 1);
        if !forward || m1 > 12 || m2 > 12 {
            return false;
        }
    }
    match prev_char(text, start) {
        Some('/' | '.' | ':') => return false,
        Some('-') if matches!(text[..start - 1].chars().next_back(), Some(c) if c.is_ascii_digit()) => return false,
        _ => {}
    }
    if matches!(next_char(text, end), Some('/' | '%' | '\'' | '"'))
        || continues_with_digit(text, end, &['-', '.', ':', ','])
    {
        return false;
    }
    let after = word_after(text, end);
    if after == "%" || after == "(" || word_in(&NOT_DATE_AFTER_SET, after) {
        return false;
    }
    !words_before(text, start, 3).iter().any(|w| word_in(&NOT_DATE_BEFORE_SET, w))
}

/// The word before `pos` that cues a date, lowercased: "on", "since", "DOS:", skipping "the"
/// and punctuation ("CXR (4/10)"); "as of", "week of" give "of" after "as"/"week".
fn date_cue_before(text: &str, pos: usize) -> Option<(String, Option<String>)> {
    let words = words_before(text, pos, 3);
    let clean = |w: &str| w.trim_end_matches([':', '-', '\'']).to_ascii_lowercase();
    let mut it = words.iter().map(|w| clean(w)).filter(|w| !w.is_empty());
    let mut first = it.next()?;
    if first == "the" {
        first = it.next()?;
    }
    Some((first, it.next()))
}

/// A clock time right after `pos`: "0800", "@ 14:30", "at 10am".
fn time_follows(text: &str, pos: usize) -> bool {
    let rest = &text[pos..];
    let trimmed = rest.trim_start_matches(' ');
    if trimmed.len() == rest.len() && !trimmed.starts_with('@') {
        return false;
    }
    let rest =
        trimmed.strip_prefix('@').or_else(|| trimmed.strip_prefix("at ")).unwrap_or(trimmed).trim_start_matches(' ');
    let digits = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b':').count();
    let clock = &rest[..digits];
    let tail = rest[digits..].trim_start_matches(' ').to_ascii_lowercase();
    let ends = |s: &str| !s.starts_with(|c: char| c.is_ascii_alphanumeric());
    let (hour, minute, am_pm) = match clock.split_once(':') {
        Some((h, m)) if m.len() == 2 && !h.is_empty() && h.len() <= 2 => {
            (h.parse::<u32>().ok(), m.parse::<u32>().ok(), false)
        }
        None if (3..=4).contains(&clock.len()) => {
            (clock[..clock.len() - 2].parse().ok(), clock[clock.len() - 2..].parse().ok(), false)
        }
        None if (1..=2).contains(&clock.len()) && ["am", "pm", "a.m", "p.m"].iter().any(|m| tail.starts_with(m)) => {
            (clock.parse().ok(), Some(0), true)
        }
        _ => return false,
    };
    let (Some(hour), Some(minute)) = (hour, minute) else { return false };
    // "1400 hrs" and "14:30 pt agitated" are times; "1400 mg" is not.
    let clock_end = pos + (text.len() - pos - rest.len()) + digits;
    let after = word_after(text, clock_end);
    let after_ok = am_pm
        || ["h", "hr", "hrs"].contains(&after)
        || (ends(&rest[digits..]) && after != "%" && !word_in(&NOT_DATE_AFTER_SET, after));
    let valid = if am_pm { (1..=12).contains(&hour) } else { hour < 24 } && minute < 60;
    valid && after_ok
}

/// A "k/n" count rather than a month/year: a percentage close after it ("9/64 (14%)", "(3/71,
/// 4%)") or a plural noun after it ("10/58 alleles").
fn count_like(text: &str, end: usize) -> bool {
    let near = &text[end..text.len().min(end + 9)];
    let after = word_after(text, end);
    let plural = after.len() > 3
        && after.ends_with('s')
        && after.starts_with(|c: char| c.is_ascii_lowercase())
        && !["this", "thus", "was", "has"].contains(&after);
    near.split('\n').next().is_some_and(|l| l.contains('%')) || after == "(" || plural
}

fn refine_date_md(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let nums = md_numbers(&text[start..end]);
    if nums.len() == 4 {
        // "4/10-4/12": a forward range of two valid dates is a date whatever precedes it.
        return md_date_ok(text, start, end, false).then_some((start, end));
    }
    let cue = date_cue_before(text, start);
    let (word, second) = cue.as_ref().map_or(("", None), |(w, s)| (w.as_str(), s.as_deref()));
    let of_cue = word == "of" && matches!(second, Some("as" | "week"));
    // "in 1/95", "stroke 10/87", "until 8/71": a month and a two-digit year that cannot be a
    // day, after a date cue or an event.
    let digits_after_slash = text[start..end].split('/').nth(1).map_or(0, str::len);
    let clean = || {
        !matches!(prev_char(text, start), Some('/' | '.' | ':' | '-'))
            && !matches!(next_char(text, end), Some('/' | '%'))
            && !matches!(next_char(text, end), Some(c) if c.is_alphabetic())
            && !continues_with_digit(text, end, &['-', '.', ':', ','])
            && !word_in(&NOT_DATE_AFTER_SET, word_after(text, end))
            && !words_before(text, start, 3).iter().any(|w| word_in(&NOT_DATE_BEFORE_SET, w))
    };
    if nums.len() == 2 && (1..=12).contains(&nums[0]) && nums[1] > 31 && digits_after_slash == 2 {
        // "Gallbladder 7/82.", "(9/94)", "PMH: 1) 8/92 evaluation": a month and a year from
        // 1950 on that cannot be a day is a date even without a cue ("1/32 inch", "H&H 10/32"
        // and "CT ratio 12/33" stay: an earlier year, a unit or a ratio word).
        let cued = word_in(&DATE_CUE_SET, word) || word_in(&YEAR_CUE_SET, word) || is_event_word(word);
        return ((cued || (nums[1] >= 50 && !count_like(text, end))) && clean()).then_some((start, end));
    }
    // "MI 07/07", "in 03/06 was negative", "late 12/09": two 2-digit parts with a leading zero
    // read as month/year or month/day, a date either way; scores and ratios are not zero-padded.
    let padded = {
        let parts: Vec<&str> = text[start..end].split('/').collect();
        parts.len() == 2 && parts.iter().all(|p| p.len() == 2) && parts.iter().any(|p| p.starts_with('0'))
    };
    if padded && (1..=12).contains(&nums[0]) && nums[1] <= 31 && clean() {
        return Some((start, end));
    }
    let two_before = second.is_some_and(|w| DATE_CUES_TWO_BEFORE.contains(&w)) && !word_in(&NOT_DATE_BEFORE_SET, word);
    if word_in(&DATE_CUE_SET, word) || of_cue || two_before {
        if word == "in" {
            // "in 12/07": a month and a 2-digit year, and nothing after it that would make it
            // a count ("in 3/10 patients").
            let two_digit_year = text[start..end].split('/').nth(1).is_some_and(|y| y.len() == 2);
            let after = word_after(text, end).to_ascii_lowercase();
            let ends = after.is_empty() || ["and", "or", "when", "with", "at"].contains(&after.as_str());
            if !(1..=12).contains(&nums[0]) || !two_digit_year || !ends || matches!(next_char(text, end), Some('(')) {
                return None;
            }
        }
        // After a facility ("d/c'd to Mercy Hospital 4/7") or "last BM 4/6" a fraction is unlikely.
        let strong = word_in(&STRONG_DATE_CUE_SET, word) || of_cue || two_before || word_in(&FACILITY_SET, word);
        return md_date_ok(text, start, end, strong).then_some((start, end));
    }
    // "8/14 0800", "4/10 @ 14:30", "1/2 0300": a date before a time of day (a fraction is not
    // followed by a clock time).
    let ok = time_follows(text, end)
        && valid_day_month(nums[0], nums[1])
        && !matches!(prev_char(text, start), Some('/' | '.' | ':' | '-'))
        && !words_before(text, start, 3).iter().any(|w| word_in(&NOT_DATE_BEFORE_SET, w));
    ok.then_some((start, end))
}

/// Checks for a bare year: not a count or an amount ("in 2000 patients", "since 1998 mg").
fn year_ok(text: &str, end: usize) -> bool {
    if continues_with_digit(text, end, &['.', ',']) || matches!(next_char(text, end), Some('%' | '/')) {
        return false;
    }
    let after = word_after(text, end);
    after != "%" && !word_in(&NOT_DATE_AFTER_SET, after)
}

/// An event or procedure a year follows in a history: "appendectomy", "CABG", "MI", "quit".
fn is_event_word(word: &str) -> bool {
    const SUFFIXES: &[&str] =
        &["ectomy", "ectomies", "otomy", "ostomy", "plasty", "scopy", "pexy", "rrhaphy", "graphy", "gram"];
    const NOT_EVENTS: &[&str] =
        &["kilogram", "milligram", "microgram", "nanogram", "picogram", "program", "histogram", "diagram", "hologram"];
    let lower = word.to_ascii_lowercase();
    let procedure = lower.len() > 7
        && SUFFIXES.iter().any(|s| lower.ends_with(s))
        && !NOT_EVENTS.iter().any(|n| lower.ends_with(n));
    procedure || word_in(&EVENT_SET, &lower)
}

/// "IVC filter placement 1999.", "MRI 1995:", "Diabetes type II, 2006.", "stent placement
/// 2006-2008.": a year closing a list item or a heading after a noun (MTSamples joins lines
/// with ","), not an amount ("greater than 2000.", "count of 2000.").
fn item_ends_with_year(text: &str, start: usize, end: usize) -> bool {
    const NOT_BEFORE: &[&str] = &[
        "of",
        "than",
        "is",
        "was",
        "were",
        "be",
        "at",
        "to",
        "about",
        "approximately",
        "level",
        "count",
        "total",
        "x",
        "and",
        "or",
        "by",
        "from",
        "under",
        "over",
        "above",
        "below",
        "around",
        "nearly",
        "almost",
        "only",
    ];
    let rest = &text[end..];
    let closes = match rest.as_bytes() {
        [] => true,
        [b'.' | b':' | b';', tail @ ..] => matches!(tail.first(), None | Some(b' ' | b'\n' | b',' | b'\r')),
        [b',', tail @ ..] => matches!(tail.first(), None | Some(b'\n' | b'\r')),
        _ => false,
    };
    // Not a sentence or a citation opening with the year ("Subramani. 1993. J Cell Biol"), nor
    // a strain or product number ("Nissle 1917.").
    let year_ok = text[start..].get(..4).and_then(|y| y.parse::<u32>().ok()).is_some_and(|y| y >= 1930);
    let before = text[..start].trim_end_matches(' ');
    // MTSamples joins a list's lines with ",": "s/p Cholecystectomy,1968." is an item too.
    let comma_glued = prev_char(text, start) == Some(',')
        && matches!(text[..start - 1].chars().next_back(), Some(c) if c.is_ascii_alphabetic());
    if !closes || !year_ok || !(matches!(prev_char(text, start), Some(' ')) || comma_glued) || before.ends_with('.') {
        return false;
    }
    let word = if comma_glued {
        text[..start - 1].rsplit(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("")
    } else {
        let Some(word) = words_before(text, start, 1).first().copied() else { return false };
        word
    };
    let lower = word.to_ascii_lowercase();
    word.len() > 1 && word.chars().all(|c| c.is_ascii_alphabetic()) && !NOT_BEFORE.contains(&lower.as_str())
}

/// A year or a decade as a word: "1990", "1970s", "1980's".
fn is_year_word(word: &str) -> bool {
    let digits = word.trim_end_matches('s').trim_end_matches('\'');
    digits.len() == 4 && matches!(digits.parse::<u32>(), Ok(1900..=2039))
}

fn refine_date_year(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let years = md_numbers(&text[start..end]);
    let first = *years.first()?;
    if !(1900..=2039).contains(&first)
        || !year_ok(text, end)
        || matches!(prev_char(text, start), Some('.' | '/' | '$' | '#'))
        // "1,998" is a number; "Cholecystectomy,1968." a list item (item_ends_with_year).
        || (prev_char(text, start) == Some(',') && !item_ends_with_year(text, start, end))
    {
        return None;
    }
    // "mid-2015" but not "CP-2015" or "1998-2015" (the range is matched from its start).
    if prev_char(text, start) == Some('-') && !text[..start - 1].to_ascii_lowercase().ends_with("mid") {
        return None;
    }
    if let Some(&second) = years.get(1) {
        let second = if second < 100 { first / 100 * 100 + second } else { second };
        if second < first {
            return None;
        }
    }
    // "s/p TURP (1992)", "dialysis (1983-1988)": a year alone in parentheses, but not a
    // citation ("Smith et al. (2005)").
    // "(1978 and 1979)", "(1996, 2005, and 2006)": the first year of a list in parentheses.
    let list_follows = || {
        let rest = text[end..].trim_start_matches([',', ' ']);
        let rest = rest.strip_prefix("and ").or_else(|| rest.strip_prefix("or ")).unwrap_or(rest);
        rest.len() >= 4 && is_year_word(&rest[..4]) && !rest[4..].starts_with(|c: char| c.is_ascii_digit())
    };
    let parenthesized = prev_char(text, start) == Some('(')
        && (next_char(text, end) == Some(')') || list_follows())
        && !words_before(text, start, 1).first().is_some_and(|w| {
            // "et al. (2005)", "Jones and Smith (1973)": a citation after an author's name.
            let titlecase =
                w.starts_with(|c: char| c.is_ascii_uppercase()) && w.chars().skip(1).any(|c| c.is_ascii_lowercase());
            let initial = w.len() == 1 && w.starts_with(|c: char| c.is_ascii_uppercase());
            w.eq_ignore_ascii_case("al") || initial || (titlecase && !is_event_word(w))
        });
    if parenthesized || item_ends_with_year(text, start, end) {
        return Some((start, end));
    }
    let (word, second_word) = date_cue_before(text, start)?;
    let second = second_word.as_deref().unwrap_or("");
    let season_of = word == "of" && word_in(&SEASON_SET, second);
    let event = is_event_word(&word) || (word == "in" && is_event_word(second));
    // "in 1987, 1990 and 2005", "between 1951 and 1953", "1998 or 1999": a year listed after
    // another year.
    let listed = (["and", "or", "&"].contains(&word.as_str()) && is_year_word(second))
        || (is_year_word(&word) && text[..start].trim_end_matches(' ').ends_with(','));
    // "dates back to 2003", "as recently as 2005", "as early as 1998".
    let back_to = (word == "to" && second == "back")
        || (word == "as" && ["recently", "early", "late", "long", "far"].contains(&second));
    if !(word_in(&YEAR_CUE_SET, &word) || word_in(&SEASON_SET, &word) || season_of || event || listed || back_to) {
        return None;
    }
    // "until 2100", "from 1900 to 0700": a clock time unless a second year makes it a range.
    // Nursing times fall on the quarter hour; "until 2012" is a year.
    let quarter_hour = matches!(first % 100, 0 | 15 | 30 | 45);
    let clock = ((1900..=1959).contains(&first) || (2000..=2059).contains(&first)) && (quarter_hour || first > 2035);
    if clock && years.len() == 1 && word_in(&TIME_CUE_SET, &word) {
        return None;
    }
    Some((start, end))
}

fn refine_date_year_short(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let cue = caps.get(1)?.as_str();
    let (start, end) = span_of(caps, 2)?;
    // "MI in 98": "in" after an event; "since 98". Either at the end of a clause.
    if cue.eq_ignore_ascii_case("in")
        && !words_before(text, caps.get(0)?.start(), 1).first().is_some_and(|w| is_event_word(w))
    {
        return None;
    }
    let after = word_after(text, end).to_ascii_lowercase();
    let ends = after.is_empty() || ["and", "or", "with", "at"].contains(&after.as_str());
    let glued = matches!(next_char(text, end), Some('%' | '/' | '(' | '-'))
        || continues_with_digit(text, end, &['.', ',', ':']);
    (ends && !glued).then_some((start, end))
}

fn refine_year_apostrophe(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let s = &text[start..end];
    // "'90s" is a decade; "'95s" is not anything.
    if s.ends_with('s') && !s[..3].ends_with('0') {
        return None;
    }
    // 5 '10" is a height.
    if matches!(next_char(text, end), Some('\'' | '"' | '’' | '”')) {
        return None;
    }
    Some((start, end))
}

fn refine_month_slash_year(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 0)?;
    if matches!(prev_char(text, start), Some(c) if c.is_ascii_digit() || c == '/' || c == '.') {
        return None;
    }
    if continues_with_digit(text, end, &['/', '.', '-']) || matches!(next_char(text, end), Some('/')) {
        return None;
    }
    Some((start, end))
}

fn refine_age(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // "1.95 years", "0.92-year": part of a decimal, not an age ("multiplex.,102 yo" is one).
    if matches!(prev_char(text, start), Some('.' | ','))
        && matches!(text[..start - 1].chars().next_back(), Some(c) if c.is_ascii_digit())
    {
        return None;
    }
    Some((start, end))
}

fn refine_age_relation(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // An apposition closes: "brother, 92, is", "mother (95)", "husband, 101."; not "sister, 92%".
    let closes = match next_char(text, end) {
        Some(',' | ')' | ';') => true,
        Some('.') => !continues_with_digit(text, end, &['.']),
        None => true,
        _ => ["years", "yrs", "yo", "y/o"].contains(&word_after(text, end).to_ascii_lowercase().as_str()),
    };
    closes.then_some((start, end))
}

/// "102M" after a birth date or an age/sex label: the age of a patient banner, not a temperature
/// ("T 102F").
fn refine_age_sex(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let before = words_before(text, start, 2);
    let birth_date = before.first().is_some_and(|w| {
        let parts: Vec<&str> = w.split(['/', '-']).collect();
        parts.len() == 3
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            && parts[2].len() == 4
    });
    let label = before
        .first()
        .is_some_and(|w| ["age/sex", "age/gender", "sex", "age", "dob"].contains(&w.to_ascii_lowercase().as_str()));
    (birth_date || label).then_some((start, end))
}

fn refine_age_label(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = refine_age(text, caps)?;
    if continues_with_digit(text, end, &['.'])
        || (continues_with_digit(text, end, &[','])
            && continues_with_digit(text, end + 1, &['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']))
    {
        return None;
    }
    // "age 90 days" (an infant), "aged 95%": not an age in years.
    let rest = text[end..].trim_start();
    let word: String =
        rest.chars().take_while(|c| c.is_alphabetic() || *c == '%').collect::<String>().to_ascii_lowercase();
    const UNITS: &[&str] = &[
        "%", "days", "day", "weeks", "week", "wk", "wks", "months", "month", "mo", "mos", "hours", "hour", "hrs",
        "minutes", "min", "mg", "kg", "lb", "lbs", "cm", "mm", "percent",
    ];
    if UNITS.contains(&word.as_str()) || rest.starts_with('%') {
        return None;
    }
    Some((start, end))
}

fn is_initial(token: &str) -> bool {
    let mut chars = token.chars();
    matches!((chars.next(), chars.next(), chars.next()), (Some(c), Some('.'), None) if c.is_uppercase())
}

/// The word without a possessive ending ("Smith's" -> "Smith"; also used by surrogate.rs).
pub(crate) fn strip_possessive(token: &str) -> &str {
    for suffix in ["'s", "’s", "'S", "’S", "'", "’"] {
        if let Some(stripped) = token.strip_suffix(suffix) {
            if !stripped.is_empty() {
                return stripped;
            }
        }
    }
    token
}

type WordSet = rustc_hash::FxHashSet<&'static str>;

static STOP_SET: LazyLock<WordSet> = LazyLock::new(|| NAME_STOP.iter().copied().collect());
static CUT_SET: LazyLock<WordSet> = LazyLock::new(|| NAME_CUT.iter().copied().collect());
static NO_PROPAGATE_SET: LazyLock<WordSet> = LazyLock::new(|| NO_PROPAGATE.iter().copied().collect());

static NOT_NAME_SET: LazyLock<WordSet> = LazyLock::new(|| NOT_NAME.iter().copied().collect());
static GENERIC_ORG_SET: LazyLock<WordSet> = LazyLock::new(|| GENERIC_ORG.iter().copied().collect());
static FACILITY_NEXT_SET: LazyLock<WordSet> = LazyLock::new(|| FACILITY_NEXT_REJECT.iter().copied().collect());
static FACILITY_SET: LazyLock<WordSet> = LazyLock::new(|| FACILITY_WORDS.iter().copied().collect());

/// `word`, lowercased, is in `set` (every listed word is ASCII and at most 24 bytes).
fn word_in(set: &WordSet, word: &str) -> bool {
    let bytes = word.as_bytes();
    if bytes.len() > 24 || !word.is_ascii() {
        return false;
    }
    let mut buf = [0u8; 24];
    for (slot, b) in buf.iter_mut().zip(bytes) {
        *slot = b.to_ascii_lowercase();
    }
    std::str::from_utf8(&buf[..bytes.len()]).is_ok_and(|lower| set.contains(lower))
}

/// Trims a captured name at the first word that cannot be part of it; returns the kept span when
/// it has at least `min_words` words.
fn trim_name(text: &str, start: usize, end: usize, min_words: usize) -> Option<(usize, usize)> {
    let region = &text[start..end];
    let mut kept_end = None;
    let mut words = 0;
    let mut offset = 0;
    for raw in region.split(' ') {
        let token_start = start + offset;
        offset += raw.len() + 1;
        if raw.is_empty() {
            continue;
        }
        let token = strip_possessive(raw.trim_end_matches(','));
        if token.is_empty() || word_in(&STOP_SET, token) || (words > 0 && word_in(&CUT_SET, token)) {
            break;
        }
        // "M.D.", "Ph.D.": letters, a period and more letters are a credential, not a name.
        let token_end = token_start + token.len();
        let glued = if is_initial(token) { token_end } else { token_end + 1 };
        if (is_initial(token) || text[token_end..].starts_with('.'))
            && matches!(next_char(text, glued), Some(c) if c.is_alphabetic())
        {
            break;
        }
        words += 1;
        kept_end = Some(token_start + token.len());
        if token.len() != raw.len() && !raw.ends_with(',') {
            break; // possessive: the name ends here
        }
    }
    let mut kept_end = kept_end?;
    // A final initial keeps its letter, not the period ("Dr. X." ends a sentence).
    if text[..kept_end].ends_with('.') {
        kept_end -= 1;
    }
    (words >= min_words).then_some((start, kept_end))
}

/// An all-capitals title ("MR.", "DR.") reads as a title only before an all-capitals name, as in
/// an uppercased document; in mixed case "MR. Mitral" is mitral regurgitation and a new sentence.
fn title_fits_name(title: &str, name: &str) -> bool {
    let caps_title = title.chars().any(char::is_alphabetic) && !title.chars().any(char::is_lowercase);
    let first_word = name.split([' ', ',']).next().unwrap_or("");
    !caps_title || !first_word.chars().any(char::is_lowercase)
}

/// A stand-in for a name in an already de-identified or template note: "Dr. X", "Dr. Y",
/// "Dr. ABC", "Dr. XYZ", "Mr. XXX" (one capital letter without a period, one letter repeated,
/// or a run of the alphabet).
pub(crate) fn is_placeholder(word: &str) -> bool {
    let w = strip_possessive(word);
    let b = w.as_bytes();
    if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    let lower: Vec<u8> = b.iter().map(u8::to_ascii_lowercase).collect();
    let repeated = lower.iter().all(|&c| c == lower[0]) && b.len() > 1;
    let run = b.len() >= 3 && lower.windows(2).all(|p| p[1] == p[0] + 1);
    if b.iter().all(u8::is_ascii_uppercase) {
        // "XY" as well as "XYZ" and "ABC"; "DE" may be initials.
        return b.len() == 1 || repeated || run || b == b"XY";
    }
    // "Mr. Abc", "Dr. Xyz", "Def, PhD" in Title case: the runs that masks use ("Stu" is a name).
    let title = b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_lowercase);
    title && (repeated || (run && matches!(lower[0], b'a' | b'd' | b'w' | b'x')))
}

/// Every word of the name is a placeholder ("Dr. X", "Dr. ABC").
fn placeholder_name(name: &str) -> bool {
    let mut words = name.split([' ', ',']).filter(|w| !w.is_empty()).peekable();
    words.peek().is_some() && words.all(is_placeholder)
}

fn refine_name_title(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let title = &text[caps.get(0)?.start()..start];
    if !title_fits_name(title, &text[start..end]) {
        return None;
    }
    let (s, e) = trim_name(text, start, end, 1)?;
    // "Dr. X", "Dr. ABCD General Hospital": a placeholder first word masks the whole name.
    let first = text[s..e].split(' ').next().unwrap_or("");
    (!is_placeholder(first)).then_some((s, e))
}

fn refine_name_label(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 2)?;
    if let Some(title) = caps.get(1) {
        if !title_fits_name(title.as_str(), &text[start..end]) {
            return None;
        }
    }
    // Without a title, a label alone is a weak cue ("Patient: Alert and oriented"): two words.
    let min_words = if caps.get(1).is_some() { 1 } else { 2 };
    let (s, e) = trim_name(text, start, end, min_words)?;
    (!placeholder_name(&text[s..e])).then_some((s, e))
}

/// A word a cue-found name cannot contain: function words, credentials, roles, services,
/// family words, clinical words (`NAME_STOP`, `NAME_CUT`, `NOT_NAME`, `GENERIC_ORG`).
fn not_a_name_word(word: &str) -> bool {
    let w = strip_possessive(word.trim_end_matches([',', '.']));
    w.is_empty()
        || !w.starts_with(|c: char| c.is_alphabetic())
        || word_in(&STOP_SET, w)
        || word_in(&CUT_SET, w)
        || word_in(&NOT_NAME_SET, w)
        || word_in(&GENERIC_ORG_SET, w)
}

fn word_in_list(list: &[&str], word: &str) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

fn has_lowercase(word: &str) -> bool {
    word.chars().any(char::is_lowercase)
}

/// The name at the start of `text[start..end]`: words up to the first that cannot be a name
/// (`not_a_name_word`, or one `ok` refuses), at most `max_words`. Returns (start, end, words).
fn leading_name(
    text: &str,
    start: usize,
    end: usize,
    max_words: usize,
    ok: impl Fn(&str) -> bool,
) -> Option<(usize, usize, usize)> {
    let mut kept_end = None;
    let mut words = 0;
    let mut offset = 0;
    for raw in text[start..end].split(' ') {
        let token_start = start + offset;
        offset += raw.len() + 1;
        if raw.is_empty() {
            continue;
        }
        let token = strip_possessive(raw.trim_end_matches(','));
        if not_a_name_word(token) || !ok(token) {
            break;
        }
        let token_end = token_start + token.len();
        let glued = if is_initial(token) { token_end } else { token_end + 1 };
        if (is_initial(token) || text[token_end..].starts_with('.'))
            && matches!(next_char(text, glued), Some(c) if c.is_alphabetic())
        {
            break; // "M.D.", "Ph.D."
        }
        words += 1;
        kept_end = Some(token_end);
        if token.len() != raw.trim_end_matches(',').len() || raw.ends_with(',') || words == max_words {
            break; // a possessive or a comma ends the name
        }
    }
    let mut kept_end = kept_end?;
    if text[..kept_end].ends_with('.') && !text[start..kept_end].contains(' ') && !is_initial(&text[start..kept_end]) {
        kept_end -= 1;
    }
    Some((start, kept_end, words))
}

/// The word after a cue-found name makes it an organization: "Maize High School", "Mercy
/// Hospital".
fn organization_follows(text: &str, end: usize) -> bool {
    let after = word_after(text, end);
    after.starts_with(|c: char| c.is_uppercase()) && (word_in(&GENERIC_ORG_SET, after) || word_in(&FACILITY_SET, after))
}

fn refine_name_title_lower(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let title_start = caps.get(0)?.start();
    // "hla-dr alpha", "hla dr beta": an antigen; "20 mg dr cap": delayed release.
    let before = words_before(text, title_start, 1);
    let antigen = matches!(prev_char(text, title_start), Some('-'))
        || before.first().is_some_and(|w| w.eq_ignore_ascii_case("hla"));
    let dose =
        before.first().is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()) || word_in(&NOT_DATE_AFTER_SET, w));
    if antigen || dose {
        return None;
    }
    let (s, e, _) = leading_name(text, start, end, 2, |w| {
        w.len() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic() || "'-".contains(c))
    })?;
    (!organization_follows(text, e)).then_some((s, e))
}

fn refine_name_title_caps(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // "20 MG DR DAILY", "OMEPRAZOLE DR": delayed release, not a doctor.
    let before = words_before(text, caps.get(0)?.start(), 1);
    let dose_or_form = |w: &&str| {
        w.starts_with(|c: char| c.is_ascii_digit()) || word_in(&NOT_DATE_AFTER_SET, w) || word_in(&NOT_NAME_SET, w)
    };
    if before.first().is_some_and(dose_or_form) {
        return None;
    }
    let (s, e, _) = leading_name(text, start, end, 2, |w| w.len() >= 2 && !has_lowercase(w))?;
    (!placeholder_name(&text[s..e])).then_some((s, e))
}

fn refine_name_credential(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let comma = caps.get(2).is_some();
    let credential = caps.get(3)?.as_str();
    // "DO" and "SLP" are a word and a service too: only after a comma. (PT, OT and RD are left
    // out: "CBC, PT, PTT" is a list of labs.)
    if !comma && ["DO", "SLP"].contains(&credential) {
        return None;
    }
    // The name is the longest run of name words that ends at the credential.
    let tokens: Vec<(usize, &str)> = {
        let mut out = Vec::new();
        let mut offset = start;
        for raw in text[start..end].split(' ') {
            if !raw.is_empty() {
                out.push((offset, raw));
            }
            offset += raw.len() + 1;
        }
        out
    };
    let mut first = tokens.len();
    while first > 0 {
        let word = tokens[first - 1].1;
        if not_a_name_word(word) || word.ends_with(',') || strip_possessive(word).len() != word.len() {
            break;
        }
        first -= 1;
    }
    let kept = &tokens[first..];
    let full_words = kept.iter().filter(|(_, w)| !is_initial(w)).count();
    if full_words == 0
        || (kept.len() < 2 && !comma)
        || kept.iter().all(|(_, w)| is_placeholder(w.trim_end_matches(',')))
    {
        return None;
    }
    // A sentence's first word before a credential is not a name: "Notified MD".
    Some((kept[0].0, end))
}

fn refine_name_credential_lower(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let whole_end = caps.get(0)?.end();
    // A signature ends its line ("jane roe, rn" then punctuation, or the date and time it was
    // written); after "signed by", "by", "per" the cue is enough. "pt", "ot", "rd" and "pa" are
    // words too: those need the cue.
    let rest = text[whole_end..].trim_start_matches([' ', '\t']);
    let cue = text[caps.get(0)?.start()..start].trim().to_ascii_lowercase();
    let by_cue = ["by", "per", "signed"].iter().any(|c| cue.ends_with(c));
    let credential = text[end..whole_end].trim_start_matches([',', ' ']).to_ascii_lowercase();
    let ambiguous = ["rd", "pt", "ot", "rt", "pa"].contains(&credential.as_str());
    let line_end = rest.is_empty()
        || rest.starts_with(['\n', '\r', '.', ';', '|', ')'])
        || rest.starts_with(|c: char| c.is_ascii_digit());
    if !(by_cue || (line_end && !ambiguous)) {
        return None;
    }
    let (s, e, words) = leading_name(text, start, end, 2, |w| w.len() >= 2)?;
    (words == 2 && e == end).then_some((s, e))
}

/// "Smith, John", "SMITH, JOHN A.": a surname, a comma and given names, every word a name
/// word; trailing words that are not ("Kambrelsan, Duna MD") are cut.
fn comma_name(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let region = &text[start..end];
    let comma = region.find(',')?;
    let surname = &region[..comma];
    if surname.contains(' ') || not_a_name_word(surname) || is_placeholder(surname) {
        return None;
    }
    let mut kept_end = None;
    let mut offset = start + comma + 1;
    for raw in region[comma + 1..].split(' ') {
        let token_start = offset;
        offset += raw.len() + 1;
        if raw.is_empty() {
            continue;
        }
        if (!is_initial(raw) && not_a_name_word(raw)) || raw.contains(',') {
            break;
        }
        kept_end = Some(token_start + raw.len());
    }
    let mut e = kept_end?;
    if text[..e].ends_with('.') && !is_initial(&text[text[..e].rfind(' ').map_or(start, |i| i + 1)..e]) {
        e -= 1;
    }
    Some((start, e))
}

fn refine_name_cue(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if text[start..end].contains(',') {
        let (s, e) = comma_name(text, start, end)?;
        return (!organization_follows(text, e)).then_some((s, e));
    }
    let (s, e, words) = leading_name(text, start, end, 3, |_| true)?;
    let full_words = text[s..e].split(' ').filter(|w| !is_initial(w)).count();
    (words >= 2 && full_words >= 1 && !organization_follows(text, e)).then_some((s, e))
}

fn refine_name_relation(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 2)?;
    // "S. H. Friend, R. Bernards": after an initial, "Friend" is a surname in a list of authors.
    let before = words_before(text, caps.get(0)?.start(), 1);
    if before.first().is_some_and(|w| w.len() == 1 && w.starts_with(|c: char| c.is_uppercase())) {
        return None;
    }
    // Title case only: "MOTHER DIABETES" in a capitalized family history is not a name.
    let (s, e, _) = leading_name(text, start, end, 2, |w| is_initial(w) || has_lowercase(w))?;
    if caps.get(1).is_some_and(|sep| sep.as_str() == ",") && !matches!(next_char(text, e), Some(',' | ')')) {
        return None; // "son, Robert," is an apposition; "Father, Hypertension" a list
    }
    (!organization_follows(text, e)).then_some((s, e))
}

fn refine_name_role(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let (s, e, _) = leading_name(text, start, end, 2, |w| is_initial(w) || has_lowercase(w))?;
    (!organization_follows(text, e)).then_some((s, e))
}

fn refine_name_label_lower(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let (s, e, words) = leading_name(text, start, end, 2, |w| w.len() >= 2)?;
    (words == 2).then_some((s, e))
}

/// Modality and service abbreviations that follow a staff label without being initials.
const NOT_INITIALS: &[&str] = &[
    "ps", "nb", "cc", "ct", "mr", "mri", "us", "xr", "nm", "pet", "na", "n/a", "ed", "er", "or", "icu", "rn", "md",
    "np", "pa", "rt", "pt", "ot", "dr", "tbd", "unk", "see", "yes", "no", "the", "and", "was", "for",
];

fn refine_name_staff_initials(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 2)?;
    let token = &text[start..end];
    let colon = caps.get(1).is_some_and(|m| !m.is_empty());
    // Lowercase initials only after "Technologist:" with its colon.
    if (starts_lowercase(token) && !colon) || NOT_INITIALS.contains(&token.to_ascii_lowercase().as_str()) {
        return None;
    }
    Some((start, end))
}

fn refine_name_slash_initials(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // The dictating physician before the slash, "P. Treford", first on its line or after a
    // sentence: an initial and a Title-case surname.
    let slash = start - 1;
    if !matches!(prev_char(text, slash), Some(c) if c.is_alphabetic()) {
        return None;
    }
    let line_start = text[..slash].rfind('\n').map_or(0, |i| i + 1);
    let before: Vec<&str> = text[line_start..slash].split(' ').filter(|w| !w.is_empty()).collect();
    let [.., initial, surname] = before[..] else { return None };
    let surname_ok =
        surname.starts_with(|c: char| c.is_uppercase()) && has_lowercase(surname) && !not_a_name_word(surname);
    let first_of_line = before.len() == 2 || before[before.len() - 3].ends_with(['.', ':']);
    if !(is_initial(initial) && surname_ok && first_of_line)
        || NOT_INITIALS.contains(&text[start..end].to_ascii_lowercase().as_str())
    {
        return None;
    }
    Some((start, end))
}

fn refine_name_before_slash(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let surname = text[start..end].rsplit(' ').next().unwrap_or("");
    let surname = surname.rsplit('.').next().unwrap_or("");
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let lead = text[line_start..start].trim_end();
    let first_of_line = lead.is_empty() || lead.ends_with(['.', ':']);
    let ok = surname.len() >= 2 && has_lowercase(surname) && !not_a_name_word(surname) && first_of_line;
    ok.then_some((start, end))
}

fn refine_name_banner(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let name = &text[start..end];
    // Every word a name word: "CHEST PA  12345  01/02/2020" is not a banner.
    let ok = name
        .split([' ', ','])
        .filter(|w| !w.is_empty())
        .all(|w| w.len() >= 2 && !not_a_name_word(w) && !is_placeholder(w));
    ok.then_some((start, end))
}

fn refine_name_signature_initials(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    // "-- J.L.S." on its own line, or "Advised ED. -l.r." closing a message.
    let (start, end) = span_of(caps, 1).or_else(|| span_of(caps, 2))?;
    let token = text[start..end].to_ascii_lowercase();
    (!NOT_INITIALS.contains(&token.as_str()) && !placeholder_name(&text[start..end])).then_some((start, end))
}

fn refine_name_header(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // "re: doe, jane" in lower case: only as the whole header value, before a line end, a "/"
    // or a birth date.
    if starts_lowercase(&text[start..end]) {
        let rest = text[end..].trim_start_matches([' ', '\t']).to_ascii_lowercase();
        if !(rest.is_empty() || rest.starts_with(['\n', '\r', '/', '|']) || rest.starts_with("dob")) {
            return None;
        }
    }
    let (s, e) = if text[start..end].contains(',') {
        comma_name(text, start, end)?
    } else {
        let (s, e, words) = leading_name(text, start, end, 3, |w| w.len() >= 2 || is_initial(w))?;
        let full_words = text[s..e].split(' ').filter(|w| !is_initial(w)).count();
        if words < 2 || full_words < 1 {
            return None;
        }
        (s, e)
    };
    (!organization_follows(text, e) && !placeholder_name(&text[s..e])).then_some((s, e))
}

fn refine_name_before_relation(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // "(HCP)", "(POA)" after a term are abbreviations ("hereditary coproporphyria (HCP)").
    let inside = text[end..caps.get(0)?.end()].to_ascii_lowercase();
    if ["hcp", "poa", "proxy"].iter().any(|a| inside.contains(a)) {
        return None;
    }
    if text[start..end].contains(',') {
        return comma_name(text, start, end).filter(|&(_, e)| e == end);
    }
    // The name words nearest the parenthesis: "spoke with lopa (daughter)" gives "lopa".
    let tokens: Vec<(usize, &str)> = {
        let mut out = Vec::new();
        let mut offset = start;
        for raw in text[start..end].split(' ') {
            out.push((offset, raw));
            offset += raw.len() + 1;
        }
        out
    };
    let mut first = tokens.len();
    while first > 0 {
        let w = tokens[first - 1].1;
        if w.len() < 2 || not_a_name_word(w) || word_in(&NOT_DATE_AFTER_SET, w) {
            break;
        }
        first -= 1;
    }
    if first == tokens.len() {
        return None;
    }
    // Lower case and Title case mixed ("with Mary") is fine; "HIS (wife)" is not a name.
    let s = tokens[first].0;
    (!placeholder_name(&text[s..end])).then_some((s, end))
}

fn refine_name_signature(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let (s, e, words) = leading_name(text, start, end, 3, |_| true)?;
    (words >= 2 && e == end).then_some((s, e))
}

/// Looks like a clinical word ("Atrial", "Fibrillation", "Glaucoma"): a department's or a
/// disease's name before "Clinic", not an organization's.
fn medical_looking(word: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "itis", "osis", "oses", "emia", "oma", "ology", "ologic", "ological", "iatric", "iatry", "iatrics", "pathy",
        "ectomy", "plasty", "scopy", "ia", "ism", "ema", "al", "ic", "ics", "ary", "ive", "ous", "ion", "ions", "ure",
        "ine",
    ];
    let lower = word.to_ascii_lowercase();
    ENDINGS.iter().any(|e| lower.ends_with(e))
}

fn refine_hospital(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if matches!(prev_char(text, start), Some('&' | '/' | '-')) {
        return None; // "PM&R Spine Clinic"
    }
    let mut tokens: Vec<(usize, &str)> = Vec::new();
    let mut offset = start;
    for raw in text[start..end].split(' ') {
        if !raw.is_empty() {
            tokens.push((offset, raw));
        }
        offset += raw.len() + 1;
    }
    // The facility words at the end ("General Hospital", "Medical Center") and the name before.
    let mut name_end = tokens.len();
    while name_end > 0 && word_in(&FACILITY_SET, tokens[name_end - 1].1) {
        name_end -= 1;
    }
    let mut first = 0;
    while first < name_end && (word_in(&STOP_SET, tokens[first].1) || word_in(&NOT_NAME_SET, tokens[first].1)) {
        first += 1;
    }
    let name = &tokens[first..name_end];
    let is_saint = |w: &str| matches!(w, "St." | "ST." | "Saint" | "SAINT");
    let distinctive: Vec<&str> = name
        .iter()
        .map(|(_, w)| strip_possessive(w))
        .filter(|w| !is_saint(w) && !not_a_name_word(w) && !word_in(&FACILITY_SET, w))
        .collect();
    // "Children's Hospital" names one hospital in its town as surely as "Mercy Hospital" does.
    let childrens = name.len() == 1 && word_in_list(&["children's", "childrens", "children’s"], name[0].1);
    // "Memorial Hospital", "Community Hospital", "University Hospital": the name of one hospital
    // in its town, capitalized as a name.
    let word_before = words_before(text, tokens[0].0, 1).first().copied().unwrap_or("");
    // "Memorial Medical Center" too: "Memorial" is never a kind of facility.
    let rest: Vec<&str> = tokens.iter().skip(1).map(|(_, w)| *w).collect();
    let plain_named = first == 0
        && !is_placeholder(word_before)
        && !word_before.starts_with(|c: char| c.is_uppercase())
        && (rest == ["Hospital"]
            && ["Memorial", "Community", "General", "University", "Regional", "County"].contains(&tokens[0].1)
            || tokens[0].1 == "Memorial" && matches!(rest.as_slice(), ["Medical" | "Health", "Center" | "Centre"]));
    if plain_named {
        return Some((tokens[0].0, end));
    }
    // "Orthopedic Associates": a practice, a business, whatever its clinical word.
    let last_word = tokens.last()?.1;
    let business = name_end > 0
        && word_in_list(&["associates", "partners", "specialists"], last_word)
        && tokens[..name_end].iter().all(|(_, w)| w.starts_with(|c: char| c.is_uppercase()) && !is_placeholder(w));
    if !childrens && !business && (distinctive.is_empty() || distinctive.iter().all(|w| is_placeholder(w))) {
        return None; // "ABCD General Hospital" is a template's stand-in
    }
    // What follows: "Hospital course", "Clinic note", "ROS General:" are not facilities.
    let after = word_after(text, end);
    if word_in(&FACILITY_NEXT_SET, after) || matches!(next_char(text, end), Some(':')) {
        return None;
    }
    let last = tokens.last()?.1.to_ascii_lowercase();
    const STRONG_ENDS: &[&str] = &[
        "hospital",
        "hospitals",
        "infirmary",
        "sanitarium",
        "sanatorium",
        "hospice",
        "home",
        "rehab",
        "rehabilitation",
    ];
    let weak_end = !STRONG_ENDS.contains(&last.as_str());
    // "Drusic Medical Group", "Zoulsic Behavioral Health": a name before a two-word facility
    // phrase is an organization's, whatever its ending.
    const ORG_PHRASE_HEADS: &[&str] = &[
        "medical",
        "health",
        "nursing",
        "rehabilitation",
        "behavioral",
        "surgical",
        "cancer",
        "heart",
        "surgery",
        "urgent",
    ];
    let org_phrase =
        name_end < tokens.len() && tokens.len() >= 2 && word_in_list(ORG_PHRASE_HEADS, tokens[tokens.len() - 2].1);
    if weak_end && !org_phrase && !business {
        // "Atrial Fibrillation Clinic", "Transplant Center": a clinical word names a department.
        if distinctive.iter().all(|w| medical_looking(w)) {
            return None;
        }
    }
    if matches!(last.as_str(), "general" | "memorial" | "regional") {
        // "Mercy General", "X Memorial": a short form, so the name must look like one and nothing
        // capitalized may follow ("General Practitioner"); "Attorney General", "Britain's General".
        const OFFICES: &[&str] = &[
            "attorney",
            "solicitor",
            "inspector",
            "inspectors",
            "surgeon",
            "surgeons",
            "secretary",
            "postmaster",
            "adjutant",
            "lieutenant",
            "major",
            "brigadier",
            "consul",
            "governor",
            "comptroller",
            "auditor",
            "accountant",
            "paymaster",
            "quartermaster",
            "vicar",
            "superior",
            "dollar",
        ];
        let looks_like_name =
            name.iter().all(|(_, w)| (has_lowercase(w) || w.len() == 1) && strip_possessive(w).len() == w.len());
        if after.starts_with(|c: char| c.is_uppercase())
            || !looks_like_name
            || name.iter().any(|(_, w)| word_in_list(OFFICES, w))
        {
            return None;
        }
    }
    Some((tokens[first].0, end))
}

/// Units, services and places of care that follow "transferred to" or "seen at" and name no
/// facility: "ICU", "PACU", "ENT", "Rehab", "Home", "Telemetry".
const CARE_DESTINATIONS: &[&str] = &[
    "icu",
    "ccu",
    "micu",
    "sicu",
    "nicu",
    "picu",
    "cvicu",
    "cticu",
    "ticu",
    "tcu",
    "rcu",
    "imc",
    "cdu",
    "pacu",
    "or",
    "er",
    "ed",
    "ems",
    "pt",
    "ot",
    "slp",
    "gi",
    "ent",
    "ob",
    "gyn",
    "obgyn",
    "ir",
    "ct",
    "mri",
    "ekg",
    "ecg",
    "eeg",
    "emg",
    "ep",
    "cath",
    "snf",
    "ltac",
    "ltach",
    "alf",
    "osh",
    "pcp",
    "icn",
    "l&d",
    "nh",
    "hd",
    "ama",
    "usa",
    "home",
    "rehab",
    "hospice",
    "floor",
    "tele",
    "telemetry",
    "medicine",
    "surgery",
    "psychiatry",
    "psych",
    "neurology",
    "cardiology",
    "oncology",
    "radiology",
    "urology",
    "nephrology",
    "hematology",
    "pediatrics",
    "orthopedics",
    "ortho",
    "gynecology",
    "obstetrics",
    "dermatology",
    "ophthalmology",
    "anesthesia",
    "pathology",
    "endocrinology",
    "pulmonary",
    "neurosurgery",
    "jail",
    "prison",
    "shelter",
    "nursing",
    "skilled",
    "assisted",
    "inpatient",
    "outpatient",
    "acute",
    "subacute",
    "transitional",
    "recovery",
    "observation",
    "ward",
    "unit",
    "service",
    "clinic",
    "hospital",
    "emergency",
    "intensive",
    "labor",
    "delivery",
    "physical",
    "occupational",
    "speech",
    "day",
    "care",
    "pharmacy",
    "lab",
    "laboratory",
    "dialysis",
    "triage",
    "holding",
    "preop",
    "postop",
    "step-down",
    "stepdown",
    "family",
    "school",
    "work",
    "church",
    "bed",
    "chair",
    "bedside",
    "dr",
    "mr",
    "mrs",
    "ms",
    "his",
    "her",
    "their",
    "our",
    "this",
    "that",
    "another",
    "outside",
    "local",
    "same",
    "none",
    "hem",
    "heme",
    "onc",
    "hem-onc",
    "gen",
    "med",
    "peds",
    "neuro",
    "cards",
    "pulm",
    "renal",
    "vascular",
    "trauma",
];

fn refine_hospital_cued(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 2)?;
    let word = &text[start..end];
    if word_in_list(CARE_DESTINATIONS, word) || is_placeholder(word) || STATE_ABBRS.contains(&word) {
        return None;
    }
    let cue = caps.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
    if word.len() < 3 {
        return None;
    }
    let acronym = word.chars().all(|c| c.is_ascii_uppercase());
    if acronym && word.len() >= 3 {
        return Some((start, end));
    }
    // One proper word: only after the cues that name where the patient is or goes, and only
    // when it stands alone ("discharged to Heartland.", not "transferred to Mercy Hospital",
    // which hospital_facility has, nor "seen at Mayo Clinic").
    let strong = [
        "here",
        "stay",
        "stayed",
        "discharged",
        "transfer",
        "transferred",
        "admitted",
        "readmitted",
        "return",
        "returned",
        "received",
    ]
    .iter()
    .any(|c| cue.split(' ').next() == Some(c));
    let after = word_after(text, end);
    // A unit after it belongs to it: "returned to the Sinai ER".
    let unit_after = ["ER", "ED", "ICU", "Emergency"].contains(&after);
    // And nothing of its own after it: punctuation, a unit, or a function word ("discharged to
    // Heartland.", "stay here at Promise and"); "return to the Medifast diet" names a diet.
    const FOLLOWERS: &[&str] =
        &["for", "on", "and", "in", "at", "with", "where", "was", "is", "by", "after", "until", "the", "to"];
    let followed_ok = unit_after || FOLLOWERS.contains(&after) || !after.starts_with(|c: char| c.is_alphanumeric());
    let alone = followed_ok && !matches!(next_char(text, end), Some('-' | '\''));
    let ordinary = word_in(&STOP_SET, word) || not_a_name_word(word) || medical_looking(word);
    (strong && alone && !ordinary && strip_possessive(word).len() == word.len()).then_some((start, end))
}

/// Last words of a business's name: the kind of business ("landscaping", "logistics", "credit
/// union", "paper mill", "elementary").
const BUSINESS_TAILS: &[&str] = &[
    "landscaping",
    "construction",
    "logistics",
    "foods",
    "insurance",
    "agency",
    "bank",
    "union",
    "mill",
    "factory",
    "company",
    "co",
    "inc",
    "llc",
    "corporation",
    "corp",
    "elementary",
    "academy",
    "college",
    "department",
    "dept",
    "services",
    "body",
    "shop",
    "motors",
    "farms",
    "market",
    "store",
    "restaurant",
    "diner",
    "cafe",
    "church",
    "plumbing",
    "roofing",
    "trucking",
    "transport",
    "manufacturing",
    "industries",
    "solutions",
    "systems",
    "group",
    "partners",
    "electric",
    "supply",
    "hardware",
    "dairy",
    "bakery",
    "school",
];

fn refine_organization_lower(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let words: Vec<&str> = text[start..end].split(' ').collect();
    // The name ends at the first business word; the words before it must hold one that is no
    // ordinary word ("works for the county road department" has none).
    let tail = words.iter().position(|w| word_in_list(BUSINESS_TAILS, w))?;
    if tail == 0 {
        return None;
    }
    let distinctive =
        words[..tail].iter().any(|w| !not_a_name_word(w) && !word_in_list(BUSINESS_TAILS, w) && w.len() >= 3);
    let stop = ["the", "a", "an", "his", "her", "their", "our", "this", "that", "local", "county", "city", "state"];
    if !distinctive || stop.contains(&words[0]) {
        return None;
    }
    // "credit union", "paper mill", "auto body": a two-word kind of business keeps its first word.
    let last = start + words[..=tail].iter().map(|w| w.len() + 1).sum::<usize>() - 1;
    Some((start, last))
}

/// The space-separated words of `text[start..end]` with their offsets.
fn spaced_words(text: &str, start: usize, end: usize) -> Vec<(usize, &str)> {
    text[start..end]
        .split(' ')
        .scan(start, |at, w| {
            let here = *at;
            *at += w.len() + 1;
            Some((here, w))
        })
        .collect()
}

fn refine_school(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // The name words before the kind of school, from the last one that cannot be a name's.
    let words = spaced_words(text, start, end);
    let kind_at = words
        .iter()
        .position(|(_, w)| matches!(*w, "High" | "Middle" | "Elementary" | "Junior" | "Grade" | "Primary"))?;
    let name = &words[..kind_at];
    let from = name.iter().rposition(|(_, w)| not_a_name_word(w) || is_placeholder(w)).map_or(0, |k| k + 1);
    let (first_at, _) = *name.get(from)?;
    Some((first_at, end))
}

fn refine_hospital_practice(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let words = spaced_words(text, start, end);
    let specialty_words = if text[start..end].ends_with(" Medicine") { 2 } else { 1 };
    let name = &words[..words.len() - specialty_words];
    // The name words: the longest run ending at the specialty of words that can be a name's.
    // ("County" after a place's name: "Hollis County Bariatrics".)
    let name_word = |w: &str| {
        let verb_form = w.ends_with("ed") || w.ends_with("ing");
        w == "County"
            || !not_a_name_word(w)
                && !medical_looking(w)
                && !is_placeholder(w)
                && !word_in(&FACILITY_SET, w)
                && !verb_form
    };
    let from = name.iter().rposition(|(_, w)| !name_word(w)).map_or(0, |k| k + 1);
    let kept = &name[from..];
    let (first_at, _) = *kept.first()?;
    // One word opening a sentence may be its verb ("Appreciate Cardiology input").
    let before = text[..first_at].trim_end_matches(' ');
    let sentence_start = before.is_empty() || before.ends_with(['.', ':', '\n', ',']);
    (kept.len() >= 2 || !sentence_start).then_some((first_at, end))
}

fn refine_hospital_of(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // The words after "of": name words up to the first that is not ("Clinic of Neurology",
    // "Hospital of Origin" stay).
    let words: Vec<&str> = text[start..end].split(' ').collect();
    let skip = 2 + usize::from(words.get(2).is_some_and(|w| w.eq_ignore_ascii_case("the")));
    let mut e = None;
    let mut offset = start + words[..skip].iter().map(|w| w.len() + 1).sum::<usize>();
    for w in &words[skip..] {
        let saint = *w == "St.";
        if !saint && (not_a_name_word(w) || word_in(&FACILITY_SET, w) || medical_looking(w) || is_placeholder(w)) {
            break;
        }
        offset += w.len() + 1;
        if !saint {
            e = Some(offset - 1);
        }
    }
    let e = e?;
    (!organization_follows(text, e)).then_some((start, e))
}

fn refine_hospital_saint(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let saint = &text[start..end];
    if strip_possessive(saint).len() == saint.len() || saint.ends_with('\'') {
        return None; // "St. Mary's", not "St. Louis"
    }
    // St. John's wort, St. Anthony's fire, St. Vitus' dance.
    let after = word_after(text, end);
    if ["wort", "fire", "dance", "disease", "cross"].iter().any(|w| after.eq_ignore_ascii_case(w)) {
        return None;
    }
    Some((start, end))
}

/// State abbreviations that are also clinical abbreviations (MI, CT, MS, OR, PA, CA, ...): a
/// "City, ST" with one of them needs a place cue before it.
const AMBIGUOUS_STATES: &[&str] = &[
    "MI", "NC", "SD", "CT", "MS", "OR", "IN", "CO", "PA", "MA", "GA", "AL", "ID", "DE", "ME", "OK", "HI", "AS", "VA",
    "AR", "PR", "VI", "GU", "MP", "LA", "SC", "IL", "CA", "MO", "NE", "UT", "TX", "NV", "NM",
];

const PLACE_CUES: &[&str] = &[
    "in", "from", "to", "of", "near", "at", "lives", "live", "living", "born", "visiting", "moved", "resides",
    "outside", "native", "hometown",
];

static PLACE_CUE_SET: LazyLock<WordSet> = LazyLock::new(|| PLACE_CUES.iter().copied().collect());

/// ", ST" or ", State" (then a ZIP code or not) right after `pos`.
fn followed_by_state(text: &str, pos: usize) -> bool {
    let Some(rest) = text[pos..].strip_prefix(',') else { return false };
    let rest = rest.trim_start_matches(' ');
    let abbr =
        rest.len() >= 2 && STATE_ABBRS.contains(&&rest[..2]) && !rest[2..].starts_with(|c: char| c.is_alphanumeric());
    abbr || STATE_NAMES.iter().any(|n| rest.starts_with(n))
}

/// A ZIP code (five digits, then "-1234" or no more digits) right after `pos`.
fn followed_by_zip(text: &str, pos: usize) -> bool {
    let rest = text[pos..].trim_start_matches(['.', ',']).trim_start_matches(' ');
    let b = rest.as_bytes();
    b.len() >= 5 && b[..5].iter().all(u8::is_ascii_digit) && !b.get(5).is_some_and(u8::is_ascii_digit)
}

/// A ZIP code right after a state ("Salem, OR 97301", "Austin, Texas 78701-1234").
fn refine_zip(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let before = text[..start].trim_end_matches(' ');
    if before.len() == start || continues_with_digit(text, end, &['-', '.', ',', '/']) {
        return None;
    }
    let before = before.trim_end_matches([',', '.']);
    let state_len = STATE_ABBRS
        .iter()
        .copied()
        .chain(STATE_NAMES.iter().copied())
        .filter(|state| before.ends_with(state) || before.ends_with(&state.to_uppercase()))
        .map(str::len)
        .max()?;
    let state_start = before.len() - state_len;
    // The state is a word of its own, after a city or a comma.
    let prior = text[..state_start].chars().next_back();
    let ok = matches!(prior, Some(' ' | ','))
        && text[..state_start].trim_end_matches([' ', ',', '.']).ends_with(|c: char| c.is_alphabetic());
    ok.then_some((start, end))
}

fn refine_city_state(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let state = caps.get(2)?;
    let abbr = state.as_str();
    let zip = followed_by_zip(text, state.end());
    if abbr == "DC" || (abbr == "MD" && !zip) {
        return None; // "Smith, MD"
    }
    // A ZIP code after the state settles it: "Chandrafort, RI 02848", "DOVER, DE 19901".
    let ambiguous = AMBIGUOUS_STATES.contains(&abbr) && !zip;
    // "TNFa, IL-6" (interleukin), "Czechs, OR=14.8" (an odds ratio).
    if ambiguous
        && matches!(text[state.end()..].trim_start_matches(' ').chars().next(), Some(c) if c.is_ascii_digit() || "-=/(<>".contains(c))
    {
        return None;
    }
    // The city: the name words nearest the comma.
    let mut tokens: Vec<(usize, &str)> = Vec::new();
    let mut offset = start;
    for raw in text[start..end].split(' ') {
        if !raw.is_empty() {
            tokens.push((offset, raw));
        }
        offset += raw.len() + 1;
    }
    let mut first = tokens.len();
    while first > 0 {
        let w = tokens[first - 1].1;
        let word_ok =
            !not_a_name_word(w) && !word_in(&FACILITY_SET, w) && (has_lowercase(w) || !ambiguous) && w.len() >= 2;
        if !word_ok {
            break;
        }
        first -= 1;
    }
    if first == tokens.len() {
        return None;
    }
    // "East Scamarcio, NM", "New Mayo, MA", "Port Duhy, CA": a directional or place prefix.
    const CITY_PREFIXES: &[&str] = &[
        "north", "south", "east", "west", "new", "lake", "port", "fort", "mount", "mt.", "saint", "st.", "el", "la",
        "los", "san", "santa", "palm", "glen", "grand", "little", "big", "upper", "lower", "old",
    ];
    if first > 0 && word_in_list(CITY_PREFIXES, tokens[first - 1].1) && (has_lowercase(tokens[first].1) || !ambiguous) {
        first -= 1;
    }
    if ambiguous && !words_before(text, tokens[first].0, 1).first().is_some_and(|w| word_in(&PLACE_CUE_SET, w)) {
        return None;
    }
    Some((tokens[first].0, state.end()))
}

fn refine_location_cued(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // Another rule has "Springfield, IL", "Mercy Hospital" and "Boise, ID 83702".
    if followed_by_state(text, end) || word_in(&FACILITY_SET, word_after(text, end)) {
        return None;
    }
    // "St. Mary's" is a hospital (hospital_saint), a possessive an institution.
    if text[start..end]
        .split(' ')
        .any(|w| word_in(&FACILITY_SET, w.trim_end_matches('.')) || strip_possessive(w).len() != w.len())
    {
        return None;
    }
    if is_placeholder(text[start..end].split(' ').next().unwrap_or("")) {
        return None; // "moved to ABCD", "born in XYZ": a template's stand-in
    }
    let whole = &text[start..end];
    let acronym = whole.len() <= 6 && whole.chars().all(|c| c.is_ascii_uppercase());
    if acronym && whole != "USA" && !STATE_ABBRS.contains(&whole) && word_in_list(CARE_DESTINATIONS, whole) {
        return None; // "transferred to TCU": a unit, no place
    }
    // "Lives in KS, here visiting": a state abbreviation after a place cue.
    let first_word = text[start..end].split(' ').next().unwrap_or("");
    if first_word.len() == 2 && STATE_ABBRS.contains(&first_word) {
        // Not "transferred to the CT scanner": no article, and no lowercase noun after it.
        let article = words_before(text, start, 1).first().is_some_and(|w| w.eq_ignore_ascii_case("the"));
        let noun_after = word_after(text, start + 2).starts_with(|c: char| c.is_ascii_lowercase())
            && !["and", "with", "for", "since", "until", "now", "where", "but"].contains(&word_after(text, start + 2));
        return (!article && !noun_after).then_some((start, start + 2));
    }
    // All capitals needs three letters: "raised in RA" is room air.
    let (s, mut e, _) =
        leading_name(text, start, end, 3, |w| (w.len() >= 2 && has_lowercase(w)) || w.len() >= 3 || w.ends_with('.'))?;
    // Place names end in words the name lists stop at: "United States", "Salt Lake City".
    let after = word_after(text, e);
    if text[e..].starts_with(' ') && ["City", "States", "Kingdom", "CITY", "STATES", "KINGDOM"].contains(&after) {
        e += 1 + after.len();
    }
    // "Originally from Kryry, Cayman Islands;": the country after the town, up to the clause end.
    if let Some(rest) = text[e..].strip_prefix(", ") {
        let words: Vec<&str> = rest.split(' ').take(3).collect();
        let mut len = 0;
        for (i, w) in words.iter().enumerate() {
            let bare = w.trim_end_matches([';', '.', ',', '\n']);
            if !bare.starts_with(|c: char| c.is_uppercase()) || not_a_name_word(bare) || bare.len() < 3 {
                break;
            }
            len += if i > 0 { 1 } else { 0 } + bare.len();
            if bare.len() != w.len() {
                let closes = w[bare.len()..].starts_with([';', '.', '\n']);
                if closes {
                    e += 2 + len;
                }
                break;
            }
        }
    }
    Some((s, e))
}

fn refine_organization_employer(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1).or_else(|| span_of(caps, 2))?;
    // Common words in capitals that end in an institution's head name one institution: "works for
    // the Social Security Administration", "retired from the Water Department".
    let words = spaced_words(text, start, end);
    // The capitalized words up to the first that ends in punctuation.
    let cut = words.iter().position(|(_, raw)| raw.ends_with([',', '.'])).map_or(words.len(), |k| k + 1);
    let run: Vec<(usize, &str)> = words[..cut]
        .iter()
        .map(|&(at, raw)| (at, raw.trim_end_matches([',', '.'])))
        .take_while(|(_, w)| w.starts_with(|c: char| c.is_uppercase()) && !is_placeholder(w))
        .collect();
    if run.len() >= 2 && run.last().is_some_and(|(_, w)| word_in_list(INSTITUTION_HEADS, w)) {
        let (at, w) = run[run.len() - 1];
        return Some((start, at + w.len()));
    }
    // The name: words up to the first function word, at least one that is no role, place word
    // or generic ("works for the County" is not an employer's name).
    let mut kept_end = None;
    let mut offset = start;
    let mut distinctive = false;
    for raw in text[start..end].split(' ') {
        let token_start = offset;
        offset += raw.len() + 1;
        let w = raw.trim_end_matches([',', '.']);
        if raw != "&" && (w.is_empty() || word_in(&STOP_SET, w) || (kept_end.is_none() && word_in(&NOT_NAME_SET, w))) {
            break;
        }
        distinctive |= raw != "&" && !not_a_name_word(w) && !word_in(&FACILITY_SET, w);
        if is_initial(raw) {
            kept_end = Some(token_start + raw.len()); // "Walter P. Carter Center"
            continue;
        }
        kept_end = Some(token_start + w.len());
        if w.len() != raw.len() {
            break;
        }
    }
    let e = kept_end?;
    if !distinctive || text[start..e].ends_with('&') || placeholder_name(&text[start..e]) {
        return None;
    }
    Some((start, e))
}

/// The last word of an institution's name, however common the words before it.
const INSTITUTION_HEADS: &[&str] = &[
    "Administration",
    "Agency",
    "Department",
    "Bureau",
    "Commission",
    "Authority",
    "Corporation",
    "Company",
    "Bank",
    "Institute",
    "Foundation",
    "Association",
    "Council",
    "Ministry",
];

fn refine_location_state(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    // "New York Heart Association", "Ohio State", "Kansas City, MO": part of a longer name.
    let after = word_after(text, end);
    if text[end..].starts_with(' ') && after.starts_with(|c: char| c.is_uppercase()) {
        return None;
    }
    if followed_by_state(text, end) {
        return None;
    }
    Some((start, end))
}

fn refine_phone_near(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if !phone_context_ok(text, start, end) || matches!(next_char(text, end), Some('/' | '%')) {
        return None;
    }
    let after = word_after(text, end);
    (!word_in(&NOT_DATE_AFTER_SET, after)).then_some((start, end))
}

fn refine_phone_at(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    let cue = text[caps.get(0)?.start()..start].trim().to_ascii_lowercase();
    let number = &text[start..end];
    // "at x 455" needs the "at"; "# 6-8429" after a call word is an extension, "at 3-4000" a range
    // unless a call word is near ("requesting call back at 6-3207", "called pt at home 6-6276").
    let extension = number.starts_with(['x', 'X']) || internal_extension(number);
    if extension && !number.starts_with(['x', 'X']) {
        let near = words_before(text, caps.get(0)?.start(), 5).iter().any(|w| word_in(&CALL_WORD_SET, w));
        if !near && !cue.starts_with("cb") && !cue.starts_with("call") {
            return None;
        }
    }
    if !phone_context_ok(text, start, end)
        || matches!(next_char(text, end), Some('/' | '%' | '-' | '.' | ':') if continues_with_digit(text, end, &['/', '-', '.', ':']))
    {
        return None;
    }
    (!word_in(&NOT_DATE_AFTER_SET, word_after(text, end))).then_some((start, end))
}

/// Words of calling that make a short number near them a phone extension.
const CALL_WORDS: &[&str] = &[
    "call",
    "called",
    "calling",
    "callback",
    "phone",
    "phoned",
    "page",
    "paged",
    "reach",
    "reached",
    "message",
    "vm",
    "voicemail",
    "home",
    "cell",
    "tel",
    "contact",
    "back",
    "number",
    "ext",
    "extension",
    "dr",
    "dr.",
];
static CALL_WORD_SET: LazyLock<WordSet> = LazyLock::new(|| CALL_WORDS.iter().copied().collect());

fn refine_phone_ext(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    if !phone_context_ok(text, start, end) || matches!(next_char(text, end), Some('/' | '%' | '°' | '+')) {
        return None;
    }
    // "ext 20 degrees": range of motion, not an extension.
    let after = word_after(text, end);
    let rom = words_before(text, start, 3).iter().any(|w| word_in(&NOT_DATE_BEFORE_SET, w));
    (!rom && !word_in(&NOT_DATE_AFTER_SET, after)).then_some((start, end))
}

fn refine_pager(text: &str, caps: &Groups) -> Option<(usize, usize)> {
    let (start, end) = span_of(caps, 1)?;
    (phone_context_ok(text, start, end) && !matches!(next_char(text, end), Some('%'))).then_some((start, end))
}

// --- detection --------------------------------------------------------------------------------

struct Candidate {
    start: usize,
    end: usize,
    priority: usize,
    kind: PhiType,
}

/// One leftmost-first pass of each group's combined regex. A match that its rule rejects is
/// retried one character later, so a valid match that starts inside it is still found.
fn collect(text: &str, out: &mut Vec<Candidate>) {
    let engine = &*ENGINE;
    for group in &engine.groups {
        let regex = if text.is_ascii() { &group.combined_ascii } else { &group.combined };
        let mut at = 0;
        while at <= text.len() {
            let Some(caps) = regex.captures_at(text, at) else { break };
            let whole = caps.get(0).expect("group 0 always matches");
            let (priority, base) =
                *group.bases.iter().find(|(_, base)| caps.get(*base).is_some()).expect("some rule matched");
            let rule = &engine.rules[priority];
            match (rule.refine)(text, &Groups { caps: &caps, base }) {
                Some((start, end)) if end > start => {
                    out.push(Candidate { start, end, priority, kind: rule.kind });
                    // Resume after the finding, not after the match: trailing context ("John
                    // Smith" of "John Smith, RN") must not hide another rule's finding.
                    at = end.max(whole.start() + 1);
                }
                _ => at = whole.start() + 1,
            }
            while at < text.len() && !text.is_char_boundary(at) {
                at += 1;
            }
        }
    }
}

/// Earliest start first, then longest, then rule order; drop whatever overlaps a kept span.
fn resolve_candidates(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(a.priority.cmp(&b.priority)));
    let mut kept: Vec<Candidate> = Vec::with_capacity(candidates.len());
    for c in candidates {
        if kept.last().is_none_or(|last| c.start >= last.end) {
            kept.push(c);
        }
    }
    kept
}

fn resolve(candidates: Vec<Candidate>) -> Vec<Span> {
    resolve_candidates(candidates).into_iter().map(|c| Span { start: c.start, end: c.end, kind: c.kind }).collect()
}

/// Calls `f(start, end)` for every word: a maximal run of letters, digits, apostrophes and
/// hyphens. Bytes are scanned directly; only non-ASCII characters are decoded.
fn for_each_word(text: &str, mut f: impl FnMut(usize, usize)) {
    let bytes = text.as_bytes();
    let is_word_at = |i: usize| -> (bool, usize) {
        let b = bytes[i];
        if b < 0x80 {
            (b.is_ascii_alphanumeric() || b == b'\'' || b == b'-', 1)
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            (c.is_alphanumeric() || c == '’', c.len_utf8())
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let (word, len) = is_word_at(i);
        if !word {
            i += len;
            continue;
        }
        let start = i;
        i += len;
        while i < bytes.len() {
            let (word, len) = is_word_at(i);
            if !word {
                break;
            }
            i += len;
        }
        f(start, i);
    }
}

/// Name words found through a cue, looked for again everywhere else in the same text.
/// "KAMALA" and "kamala" -> "Kamala".
pub(crate) fn title_case(word: &str) -> String {
    let lower = word.to_lowercase();
    let mut chars = lower.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn propagate_names(text: &str, spans: Vec<Span>) -> Vec<Span> {
    let mut names: Vec<String> = Vec::new();
    for span in spans.iter().filter(|s| s.kind == PhiType::Name) {
        for raw in text[span.start..span.end].split([' ', ',']) {
            let word = strip_possessive(raw);
            let chars = word.chars().count();
            if chars < 3
                || is_initial(word)
                || word_in(&STOP_SET, word)
                || word_in(&CUT_SET, word)
                || word_in(&NO_PROPAGATE_SET, word)
            {
                continue;
            }
            // All-capital words of three letters are as often abbreviations as names, and one
            // letter repeated ("XXXX") is another de-identifier's mask.
            if chars == 3 && word.chars().all(|c| !c.is_lowercase()) {
                continue;
            }
            let mut letters = word.chars().map(|c| c.to_ascii_lowercase());
            let first = letters.next();
            if letters.all(|c| Some(c) == first) {
                continue;
            }
            // A name a header writes in capitals is written in title case in the text below it
            // ("KAMALA GRESON  685-66-52 ..." then "Kamala Greson recovered well").
            let title = word.chars().all(|c| !c.is_lowercase()).then(|| title_case(word));
            for form in [Some(word.to_string()), Some(word.to_uppercase()), title].into_iter().flatten() {
                if !names.contains(&form) {
                    names.push(form);
                }
            }
        }
    }
    if names.is_empty() {
        return spans;
    }
    let mut found: Vec<Span> = Vec::new();
    for_each_word(text, |start, end| {
        let raw = &text[start..end];
        if !raw.starts_with(|c: char| c.is_uppercase()) {
            return;
        }
        let word = strip_possessive(raw.trim_end_matches('-'));
        if names.iter().any(|n| n == word) {
            found.push(Span { start, end: start + word.len(), kind: PhiType::Name });
        }
    });
    if found.is_empty() {
        return spans;
    }
    let overlaps = |s: &Span| {
        let idx = spans.partition_point(|k| k.end <= s.start);
        idx < spans.len() && spans[idx].start < s.end
    };
    found.retain(|s| !overlaps(s));
    if found.is_empty() {
        return spans;
    }
    let mut merged = spans;
    merged.extend(found);
    merged.sort_by_key(|s| (s.start, s.end));
    merged
}

/// Every PHI finding in `text`: byte offsets, sorted, non-overlapping.
pub fn detect(text: &str) -> Vec<Span> {
    let mut candidates = Vec::new();
    collect(text, &mut candidates);
    propagate_names(text, resolve(candidates))
}

/// `detect` with every rule run on its own over the whole text and all candidates resolved
/// together: slower, and the reference the one-pass `detect` is tested against.
pub fn detect_rule_by_rule(text: &str) -> Vec<Span> {
    let mut candidates = Vec::new();
    for (priority, rule) in ENGINE.rules.iter().enumerate() {
        let mut at = 0;
        while at <= text.len() {
            let Some(caps) = rule.regex.captures_at(text, at) else { break };
            let whole = caps.get(0).expect("group 0 always matches");
            match (rule.refine)(text, &Groups { caps: &caps, base: 0 }) {
                Some((start, end)) if end > start => {
                    candidates.push(Candidate { start, end, priority, kind: rule.kind });
                    at = end.max(whole.start() + 1);
                }
                _ => at = whole.start() + 1,
            }
            while at < text.len() && !text.is_char_boundary(at) {
                at += 1;
            }
        }
    }
    propagate_names(text, resolve(candidates))
}

/// `detect`, each finding with the name of the rule that made it ("name_propagated" for a name
/// found again after a cue elsewhere in the text): for diagnostics and rule tuning.
pub fn detect_with_rule_names(text: &str) -> Vec<(Span, &'static str)> {
    let mut candidates = Vec::new();
    collect(text, &mut candidates);
    let kept = resolve_candidates(candidates);
    let spans = kept.iter().map(|c| Span { start: c.start, end: c.end, kind: c.kind }).collect();
    propagate_names(text, spans)
        .into_iter()
        .map(|span| {
            let at = kept.partition_point(|c| c.start < span.start);
            let by_rule = kept.get(at).filter(|c| c.start == span.start && c.end == span.end);
            (span, by_rule.map_or("name_propagated", |c| ENGINE.rules[c.priority].name))
        })
        .collect()
}

/// Each rule's name and pattern as compiled for ASCII text (for diagnostics and profiling).
#[doc(hidden)]
pub fn rule_patterns_ascii() -> Vec<(&'static str, String)> {
    ENGINE.rules.iter().map(|r| (r.name, expand(r.pattern, true))).collect()
}

/// Names of the rules, in priority order (for diagnostics).
pub fn rule_names() -> Vec<&'static str> {
    ENGINE.rules.iter().map(|r| r.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deid::{char_spans, deidentify};

    /// (text, type) of every finding.
    fn found(text: &str) -> Vec<(String, &'static str)> {
        detect(text).iter().map(|s| (text[s.start..s.end].to_string(), s.kind.as_str())).collect()
    }

    fn has(text: &str, phi: &str, kind: &str) -> bool {
        found(text).iter().any(|(t, k)| t == phi && *k == kind)
    }

    fn assert_finds(text: &str, phi: &str, kind: &str) {
        assert!(has(text, phi, kind), "expected {kind} {phi:?} in {text:?}, found {:?}", found(text));
    }

    fn assert_clean(text: &str) {
        assert!(found(text).is_empty(), "expected nothing in {text:?}, found {:?}", found(text));
    }

    #[test]
    fn every_rule_compiles() {
        assert_eq!(rule_names().len(), ENGINE.rules.len());
        assert!(rule_names().contains(&"name_title"));
    }

    #[test]
    fn names_after_titles() {
        assert_finds("Follow up with Dr. Mendez on Monday.", "Mendez", "NAME");
        assert_finds("Mr. Owens is a 32-year-old male", "Owens", "NAME");
        assert_finds("seen by Dr. Teresa Allen today", "Teresa Allen", "NAME");
        assert_finds("Mrs. Anne M. Baker was seen", "Anne M. Baker", "NAME");
        assert_finds("Prof. O'Brien reviewed", "O'Brien", "NAME");
        assert_finds("Ms.  Smith-Jones called", "Smith-Jones", "NAME");
        assert_finds("DR. FATIMA SHAW, MD ON 02/18/2025", "FATIMA SHAW", "NAME");
        assert_finds("MR. OWENS IS A 92-YEAR-OLD MALE", "OWENS", "NAME");
        assert_finds("Electronically signed by Dr. Fatima Shaw, MD on 02/18/2025.", "Fatima Shaw", "NAME");
        assert_finds("Dr. Müller saw her", "Müller", "NAME");
    }

    #[test]
    fn titles_without_a_name_are_left() {
        assert_clean("Dr. appointment scheduled");
        // Placeholders: one capital letter, a letter repeated, a run of the alphabet.
        for text in [
            "Dr. X's office",
            "followed by Dr. X.",
            "Mr. Abc returned",
            "seen by Dr. Xyz",
            "Dr. Y, Ph.D., completed",
            "by Abc, MD, and Def, Ph.D.",
            "seen by Dr. Y in clinic",
            "follow up with Dr. ABC in two weeks",
            "per Dr. XYZ",
            "DR. XXX",
            "Dr. ABCD General Hospital",
        ] {
            assert!(
                !found(text).iter().any(|(_, k)| *k == "NAME"),
                "placeholder taken as a name in {text:?}: {:?}",
                found(text)
            );
        }
        assert_clean("history of MS. The patient is stable");
        assert_clean("Mr. and Mrs. came in");
    }

    #[test]
    fn names_after_labels() {
        assert_finds("Patient: Hunt, Gary    MRN: 22035178", "Hunt, Gary", "NAME");
        assert_finds("Patient name: Martin, Mark    MRN: 73889579", "Martin, Mark", "NAME");
        assert_finds("Name: Pamela Owens | Medical record number: 1", "Pamela Owens", "NAME");
        assert_finds("Attending physician: Madison Morris, MD\n", "Madison Morris", "NAME");
        assert_finds("Provider: Dr. Madison Morris\n", "Madison Morris", "NAME");
        assert_finds("Dictated by: Dr. Teresa Allen    Signed: x", "Teresa Allen", "NAME");
        assert_finds("Referring physician: John Q. Public", "John Q. Public", "NAME");
        assert_finds("PATIENT: HUNT, GARY    MRN: 22035178", "HUNT, GARY", "NAME");
        assert_finds("Transcribed by Jane Roe", "Jane Roe", "NAME");
    }

    #[test]
    fn labels_without_a_name_are_left() {
        assert_clean("Patient: Alert and oriented.");
        assert_clean("PATIENT:,  This is a 45 year old.");
        assert_clean("Drug name: Metoprolol Tartrate");
        assert_clean("Attending: Cardiology");
    }

    #[test]
    fn surnames_found_with_a_cue_are_scrubbed_everywhere() {
        let text = "Mr. Owens is here. Owens reports pain. OWENS agrees. Owensboro is a city.";
        let names: Vec<_> = found(text).into_iter().filter(|(_, k)| *k == "NAME").map(|(t, _)| t).collect();
        assert_eq!(names, vec!["Owens", "Owens", "OWENS"]);
        // Common words are not propagated even when they are someone's name.
        let text = "Dr. White was called. White blood cells were normal.";
        assert_eq!(found(text).len(), 1);
        // A name a header writes in capitals is found again in title case, not in lowercase.
        let text = "MR. OWENS IS A 92-YEAR-OLD MALE.\nOwens recovered well. The owens were not.";
        let names: Vec<_> = found(text).into_iter().filter(|(_, k)| *k == "NAME").map(|(t, _)| t).collect();
        assert_eq!(names, vec!["OWENS", "Owens"]);
    }

    #[test]
    fn record_numbers() {
        assert_finds("MRN: 64035020", "64035020", "MRN");
        assert_finds("Medical record number: 64035020 |", "64035020", "MRN");
        assert_finds("MR# 123456", "123456", "MRN");
        assert_finds("Med rec no. A-1234567", "A-1234567", "MRN");
        assert_finds("MEDICAL RECORD NUMBER: 64035020", "64035020", "MRN");
        assert_clean("MR 2+ with mild TR");
        assert_clean("MRN: 12");
        assert_finds("MEDICAL RECORD#:  123,Dear Dr. XYZ:", "123", "MRN");
        assert_clean("Patient ID 123");
    }

    #[test]
    fn social_security_numbers() {
        assert_finds("SSN: 123-45-6789", "123-45-6789", "SSN");
        assert_finds("social security number 123 45 6789", "123 45 6789", "SSN");
        assert_finds("id 219-09-9999 on file", "219-09-9999", "SSN");
        assert_clean("code 666-12-3456");
        assert_clean("code 900-12-3456");
        assert_clean("code 123-00-4567");
    }

    #[test]
    fn phones_and_faxes() {
        assert_finds("call (595) 283-0815.", "(595) 283-0815", "PHONE");
        assert_finds("Phone: 304.467.2556", "304.467.2556", "PHONE");
        assert_finds("Office: 304-467-2556. Fax: 304-467-2557.", "304-467-2556", "PHONE");
        assert_finds("Office: 304-467-2556. Fax: 304-467-2557.", "304-467-2557", "FAX");
        assert_finds("FAX # (212) 555-0199", "(212) 555-0199", "FAX");
        assert_finds("tel 212 555 0199", "212 555 0199", "PHONE");
        assert_finds("cell: 5551234567", "5551234567", "PHONE");
        assert_finds("at 1-800-555-1212 ext. 44", "1-800-555-1212 ext. 44", "PHONE");
        assert_finds("reach me on +44 20 7946 0958 today", "+44 20 7946 0958", "PHONE");
        assert_clean("Hgb 123-456 and 1.5.2");
        assert_clean("lot 123-456-78901");
    }

    #[test]
    fn emails_urls_and_ips() {
        assert_finds("Email: powens17@example.org\n", "powens17@example.org", "EMAIL");
        assert_finds("POWENS17@MAIL.EXAMPLE.COM", "POWENS17@MAIL.EXAMPLE.COM", "EMAIL");
        assert_finds("see https://portal.example.com/p?id=7.", "https://portal.example.com/p?id=7", "URL");
        assert_finds("(www.example.org/records)", "www.example.org/records", "URL");
        assert_finds("visit mychart.example.com for results", "mychart.example.com", "URL");
        assert_finds("from 192.168.10.254 at", "192.168.10.254", "IP");
        assert_finds("host fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a", "IP");
        assert_finds("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "IP");
        assert_clean("version 1.2.3.4.5 and 300.1.1.1");
        assert_clean("at 10:30:45 the e.g. list");
    }

    #[test]
    fn addresses_and_zips() {
        assert_finds(
            "Address: 7042 Birch Place, Apt 4D, Phoenix, AZ 85058\n",
            "7042 Birch Place, Apt 4D, Phoenix, AZ 85058",
            "ADDRESS",
        );
        assert_finds("lives at 12 Oak Street.", "12 Oak Street", "ADDRESS");
        assert_finds(
            "1600 Pennsylvania Ave NW, Washington, DC 20500",
            "1600 Pennsylvania Ave NW, Washington, DC 20500",
            "ADDRESS",
        );
        assert_finds(
            "7042 BIRCH PLACE, APT 4D, PHOENIX, AZ 85058",
            "7042 BIRCH PLACE, APT 4D, PHOENIX, AZ 85058",
            "ADDRESS",
        );
        assert_finds("PO Box 123, Salem, OR 97301", "PO Box 123, Salem, OR 97301", "ADDRESS");
        assert_finds("moved to Boise, ID 83702 last year", "83702", "ZIP");
        assert_clean("omeprazole 20 MG DR daily");
        assert_clean("2 VIEWS CHEST PA AND LATERAL");
        assert_clean("CA 19-9 and CA 125 were normal");
    }

    #[test]
    fn dates() {
        for (text, date) in [
            ("on 03/14/2025.", "03/14/2025"),
            ("on 3/14/25.", "3/14/25"),
            ("on 2025-03-14T10:30", "2025-03-14"),
            ("DOB: 9/18/90", "9/18/90"),
            ("March 14, 2025", "March 14, 2025"),
            ("on 14 Mar 2025", "14 Mar 2025"),
            ("on 03-14-2025", "03-14-2025"),
            ("on Mar 14 2025", "Mar 14 2025"),
            ("the 14th of March 2025", "14th of March 2025"),
            ("the 14th of March", "14th of March"),
            ("on March 14 she", "March 14"),
            ("in March 2025 she", "March 2025"),
            ("NOVEMBER 17, 2022", "NOVEMBER 17, 2022"),
            ("8 SEP 2017", "8 SEP 2017"),
            ("on 14-Mar-25", "14-Mar-25"),
            ("on 14.03.2025", "14.03.2025"),
            ("on 25/12/2024", "25/12/2024"),
            ("since 03/2019", "03/2019"),
            ("Sept. 5, 2019", "Sept. 5, 2019"),
        ] {
            assert_finds(text, date, "DATE");
        }
    }

    #[test]
    fn clinical_numbers_are_not_dates() {
        for text in [
            "BP 120/80 mmHg, pain 5/10",
            "metoprolol 0.5 mg and heparin 1,000 units",
            "at 10:30 today",
            "L4-L5 and C5-6 disc bulge",
            "A00.1 and S72.001A",
            "1.5.10 release",
            "sodium 140, potassium 4.1, Hgb 13.2/39.5",
            "dilution 1:2000 and 13/45/2020",
            "May 5 more tablets",
            "3 Mar",
            "ranges 5-10-15",
            "120/80/65",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn dates_without_a_year() {
        for (text, date) in [
            ("pt seen on 8/14.", "8/14"),
            ("on 4/10 she fell", "4/10"),
            ("admitted 21 Apr with CHF", "21 Apr"),
            ("return Apr 21st for labs", "Apr 21st"),
            ("inpatient 4/10-4/12 for pneumonia", "4/10-4/12"),
            ("seen the 3rd of May", "3rd of May"),
            ("not drinking since 12/07.", "12/07"),
            ("kidney transplant in 12/07.", "12/07"),
            ("d/c 4/10 to home", "4/10"),
            ("f/u 5/2 with PCP", "5/2"),
            ("DOS: 4/10", "4/10"),
            ("CXR (4/10) clear", "4/10"),
            ("Monday 4/10 in clinic", "4/10"),
            ("4/10 @ 14:30 pt agitated", "4/10"),
            ("8/14 0800 pt resting", "8/14"),
            ("fell on 1/2 at home", "1/2"),
            ("no changes as of 3/5.", "3/5"),
            ("inpatient from 3/1 to 3/5", "3/1 to 3/5"),
            ("ON 11/7 HE RETURNED", "11/7"),
            ("Tel enc 1/26: pt's son called", "1/26"),
            ("will pick pt up 12/1 in am", "12/1"),
            ("COMPARISON: 1/5", "1/5"),
            ("d/c'd to Ashford House 6/25.", "6/25"),
            ("jane roe, rn 2/8 0300", "2/8"),
            ("5) s/p Cholecystectomy,1968. 6) Cataract", "1968"),
        ] {
            assert_finds(text, date, "DATE");
        }
    }

    #[test]
    fn practices_and_plainly_named_hospitals() {
        assert_finds(
            "she will be seen in followup at San Juan Pediatrics the week of",
            "San Juan Pediatrics",
            "HOSPITAL",
        );
        assert_finds("Refer over to Scotland Orthopedics.", "Scotland Orthopedics", "HOSPITAL");
        assert_finds("He was seen by Dr. Y at Orthopedic Associates for review", "Orthopedic Associates", "HOSPITAL");
        assert_finds("Born on 08/23/2006 at Memorial Hospital, NSVD.", "Memorial Hospital", "HOSPITAL");
        assert_finds("a quick lift through Memorial Medical Center.", "Memorial Medical Center", "HOSPITAL");
        assert_finds("and transferred by helicopter to UIHC.", "UIHC", "HOSPITAL");
        assert_finds("over the Hollis County Bariatrics consent form", "Hollis County Bariatrics", "HOSPITAL");
        assert_finds("She returned to the Sinai ER on that day", "Sinai", "HOSPITAL");
        assert_finds("At transfer to UNM on October 13", "UNM", "HOSPITAL");
        for text in [
            "Appreciate Cardiology input.",
            "The case will be discussed at Combined Cardiology and Surgery.",
            "Seen by Pediatric Cardiology today.",
            "presents to ABCD General Hospital with pain",
            "To return to the Medifast diet.",
        ] {
            assert!(!found(text).iter().any(|(_, kind)| *kind == "HOSPITAL"), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn hospitals_by_initials_or_one_word_after_a_care_verb() {
        assert_finds("He was then referred to UIHC for surgery.", "UIHC", "HOSPITAL");
        assert_finds("follow up with the urology clinic at MCG and", "MCG", "HOSPITAL");
        assert_finds("cleared with his stay here at Promise.  On", "Promise", "HOSPITAL");
        assert_finds("was stable and was discharged to Heartland.", "Heartland", "HOSPITAL");
        assert_finds("recently underwent surgery at Children's Hospital and", "Children's Hospital", "HOSPITAL");
        for text in [
            "transferred to ICU for monitoring.",
            "was discharged to Home in stable condition.",
            "She was referred to ENT and GI.",
            "admitted to Medicine for IV antibiotics.",
            "referred to Hem/Onc for workup.",
            "seen at ABC for the same.",
            "was seen at the Children's clinic",
        ] {
            assert!(!found(text).iter().any(|(_, kind)| *kind == "HOSPITAL"), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn years_with_a_temporal_cue() {
        for (text, year) in [
            ("in 2015 she moved", "2015"),
            ("sober since 1998", "1998"),
            ("appendectomy (2004)", "2004"),
            ("PMH: CABG 2004, HTN", "2004"),
            ("MI in 98.", "98"),
            ("quit in '98", "'98"),
            ("smoked in the '90s", "'90s"),
            ("worked there in the 1990s", "1990s"),
            ("lived there from 2010 to 2015", "2010 to 2015"),
            ("the summer of 2010", "2010"),
            ("relapsed mid-2015", "2015"),
            ("quit smoking in 1998", "1998"),
            ("hysterectomy, 1981", "1981"),
        ] {
            assert_finds(text, year, "DATE");
        }
    }

    #[test]
    fn a_dated_entry_after_a_ratio_word_of_another_clause() {
        assert_finds("decrease TV, review ABGs,4/18/01:,S: Sedated", "4/18/01", "DATE");
        assert_clean("vent on AC 500/14/5, PS 5/10/40");
    }

    #[test]
    fn ratios_scores_settings_and_times_are_not_dates() {
        for text in [
            "pain 3/10, 3/10 pain, pain is 0/10",
            "BP 120/80 and 120/80 on recheck",
            "strength 5/5 in all extremities, 4/5 strength on the left",
            "grade 2/6 systolic murmur; a 2/6 murmur",
            "vision 20/20 bilaterally",
            "take 1/2 tab at night; started on 1/2 NS at 100",
            "2/3 of the way up the stairs",
            "repeat x2/3, L4/5 and C5/6 disc bulges",
            "vent on AC 500/14/5, PS 5/10/40",
            "PEEP 5/10 and FiO2 40%",
            "abnormal in 3/10 patients; positive in 3/10 (30%)",
            "enrolled in 2000 patients",
            "slept from 1900 to 0700; nap until 2100",
            "sats in the 90s",
            "pain ranges from 3/10 to 6/10 in intensity",
            "A00.1 and S72.001A and 1/2 inch",
            "8/12 cores positive",
            "May 5 more tablets; 3 Mar",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn names_with_cues() {
        for (text, name) in [
            ("seen by dr. john doe today", "john doe"),
            ("paged dr Smith", "Smith"),
            ("spoke with dr john about the plan", "john"),
            ("pt comfortable. jane roe, rn", "jane roe"),
            ("jane roe, rn", "jane roe"),
            ("note by John Smith MD today", "John Smith"),
            ("seen by J. Smith, NP.", "J. Smith"),
            ("medically evaluated by Rebecca Richardson, MD.", "Rebecca Richardson"),
            ("plan per W. Smith", "W. Smith"),
            ("spoke with Mary Jones about the plan", "Mary Jones"),
            ("called John Doe at home", "John Doe"),
            ("wife (Mary Ann) at bedside", "Mary Ann"),
            ("his daughter Ann visited", "Ann"),
            ("his son, Robert, called", "Robert"),
            ("husband Joe at bedside", "Joe"),
            ("mother Linda brought her in", "Linda"),
            ("pt's sister Kay called", "Kay"),
            ("report given to RN Mary", "Mary"),
            ("nurse Kelly notified", "Kelly"),
            ("resident Dr. Lee aware", "Lee"),
            ("attending: john doe", "john doe"),
            ("-- M. Jones, RN", "M. Jones"),
            ("note follows\n-- M. Jones\n", "M. Jones"),
            ("DR JONES WAS CALLED", "JONES"),
            ("MRS SMITH IS HERE", "SMITH"),
        ] {
            assert_finds(text, name, "NAME");
        }
    }

    #[test]
    fn cue_words_without_a_name_are_left() {
        for text in [
            "plan per JS",
            "Notified MD. MD aware. dr. aware and dr notified; dr cleared pt; dr at bedside",
            "omeprazole 20 mg dr cap daily",
            "the dr. on call agreed; Dr. appointment made",
            "RN notified. Nurse Practitioner to see. Charge RN aware",
            "called Blood Bank; per Cardiology; spoke with Social Work",
            "Mother: Diabetes. Father, Hypertension, Diabetes",
            "MOTHER DIABETES, FATHER HTN",
            "mother reported that she is better",
            "labs: CBC, PT, PTT, ESR",
            "omeprazole 20 MG DR DAILY",
            "hla-dr alpha chain, hla dr beta",
            "Pt resting comfortably, rn at bedside.",
            "HOSPITAL COURSE PER PROBLEM LIST:",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn hospitals_and_places() {
        for (text, phi, kind) in [
            ("transferred to St. Mary's yesterday", "St. Mary's", "HOSPITAL"),
            ("admitted to Saint Joseph Hospital", "Saint Joseph Hospital", "HOSPITAL"),
            ("seen at Springfield Memorial.", "Springfield Memorial", "HOSPITAL"),
            ("follows with Y Valley Cardiology Center", "Y Valley Cardiology Center", "HOSPITAL"),
            ("taken to Mercy General by EMS", "Mercy General", "HOSPITAL"),
            ("transferred to Mercy Hospital", "Mercy Hospital", "HOSPITAL"),
            ("d/c'd to Oakwood Rehab", "Oakwood Rehab", "HOSPITAL"),
            ("lives at Sunrise Nursing Home", "Sunrise Nursing Home", "HOSPITAL"),
            ("seen at Lakeside Medical Center", "Lakeside Medical Center", "HOSPITAL"),
            ("evaluated at Mayo Clinic", "Mayo Clinic", "HOSPITAL"),
            ("PCP at Banner Health", "Banner Health", "HOSPITAL"),
            ("lives in Springfield with her son", "Springfield", "LOCATION"),
            ("visiting from Ohio", "Ohio", "LOCATION"),
            ("lives in Springfield, IL with her son", "Springfield, IL", "LOCATION"),
            ("born in Tyler, Texas", "Tyler, Texas", "LOCATION"),
            ("moved from Orange, NJ", "Orange, NJ", "LOCATION"),
            ("transferred from Sugar Land ER", "Sugar Land", "LOCATION"),
            ("moved to the United States in 2001", "United States", "LOCATION"),
            ("born in Salt Lake City.", "Salt Lake City", "LOCATION"),
        ] {
            assert_finds(text, phi, kind);
        }
        // "Smith, MD" is a name (a credential), not a city in Maryland.
        assert_eq!(found("Smith, MD"), vec![("Smith".to_string(), "NAME")]);
        // With a ZIP code the zip rule reports the ZIP code, as before.
        assert_finds("lives in Springfield, IL 62701", "62701", "ZIP");
    }

    #[test]
    fn organization_words_without_an_organization_are_left() {
        for text in [
            "St. John's wort 300 mg daily",
            "BRIEF HOSPITAL COURSE: uneventful. Hospital course was smooth.",
            "seen at the Medical Center; the Hospital; Pain Clinic",
            "referred to the Atrial Fibrillation Clinic",
            "Attorney General; General Surgery; ROS General: negative",
            "Public Health and Mental Health services",
            "Hypertension, MI, CAD",
            "expression of TNFa, IL-6 and iNOS; in Czechs, OR=14.8",
            "cloned (S. H. Friend, R. Bernards, S. Rogelj)",
            "New York Heart Association class II",
            "raised in RA",
            "transferred to the ICU; transferred to Recovery Room",
            "follow up at the PM&R Spine Clinic",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn local_phone_layouts() {
        for (text, phone) in [
            ("call wife at 555-1234 if needed", "555-1234"),
            ("page me at x4-5678", "x4-5678"),
            ("nursing station ext 22", "ext 22"),
            ("(555) 123 4567", "(555) 123 4567"),
            ("her cell is 555 123 4567", "555 123 4567"),
            ("pgr 1234", "1234"),
            ("fax number is 831-5926.", "831-5926"),
        ] {
            assert_finds(text, phone, "PHONE");
        }
        for text in [
            "flexion 90, ext 20 degrees",
            "lower ext 2+ edema",
            "dose 100-1500 mg daily",
            "number of cells 200-1000/mm3",
            "repeat x2; A&O x3",
        ] {
            assert_clean(text);
        }
    }

    #[test]
    fn ages_over_89() {
        assert_finds("a 92-year-old male", "92", "AGE");
        assert_finds("is 101 years old", "101", "AGE");
        assert_finds("age 95,", "95", "AGE");
        assert_finds("aged 91.", "91", "AGE");
        assert_finds("93 yo F", "93", "AGE");
        assert_finds("94 y/o", "94", "AGE");
        assert_finds("90 y.o. man", "90", "AGE");
        assert_finds("96 years of age", "96", "AGE");
        assert_finds("A 92-YEAR-OLD", "92", "AGE");
        assert_clean("a 45-year-old and an 89-year-old");
        assert_clean("at age 80 of cancer");
        assert_clean("age 90 days");
        assert_clean("93 young adults");
        assert_clean("saturation 92%");
    }

    #[test]
    fn identifiers_after_a_label() {
        for (text, id) in [
            ("Account #: 41760263  Visit #: A978484439", "A978484439"),
            ("workers compensation claim 53281441586.", "53281441586"),
            ("BCBS member ID VB23223089, group EG74784677.", "VB23223089"),
            ("BCBS member ID VB23223089, group EG74784677.", "EG74784677"),
            ("Medicare # W042132037 72\nEXAM", "W042132037 72"),
            ("Insurance: Medicaid ID 5CX5-HU9-VM94; secondary policy 6EF1-ZE0-PS98.", "6EF1-ZE0-PS98"),
            ("Provider NPI GXS777076, DEA 0760833477.", "0760833477"),
            ("Accession number BM2785971.", "BM2785971"),
            ("Interpreter: Juar Fay, ID 1194604163.", "1194604163"),
            ("ICD SN 6450-W4054, last interrogated", "6450-W4054"),
            ("pacemaker: dual chamber, serial # 23170147.", "23170147"),
            ("Unit no: 2500895  Adm: 16-JAN-2004", "2500895"),
            ("MED REC #8562230", "8562230"),
            ("Driver's license NKJ696453 on file.", "NKJ696453"),
            ("MRN 73-975-268 / FIN V76153018", "V76153018"),
            ("Portal username: karellj", "karellj"),
            ("Login torpey42 (192.168.103.97) accessed the chart", "torpey42"),
            ("Note entered by bgoswami8 from workstation 172.19.66.32", "bgoswami8"),
            ("SMITH, JOHN  6835881  08/08/1958  102F", "6835881"),
        ] {
            assert_finds(text, id, "MRN");
        }
        assert_finds("SMITH, JOHN  6835881  08/08/1958  102F", "SMITH, JOHN", "NAME");
        for text in [
            "Model #: 12345",
            "group of 1000 patients",
            "age group 18-65 years",
            "in case 2015 was",
            "ID consult 5/4",
            "Unit 5 bed 3",
            "visit 10001 times",
            "ins 10 units",
            "Login failed twice",
            "entered by nurse at bedside",
        ] {
            assert_clean(text);
        }
        // "Boise, ID 83702" is a ZIP code; "id 219-09-9999" a social security number.
        assert_finds("moved to Boise, ID 83702 last year", "83702", "ZIP");
        assert_finds("id 219-09-9999 on file", "219-09-9999", "SSN");
    }

    #[test]
    fn ages_over_89_in_more_forms() {
        for (text, age) in [
            ("Her brother, 92, is the primary caregiver.", "92"),
            ("His father (95) lives with them", "95"),
            ("Father died at 93 of old age.", "93"),
            ("mother passed away at age 101.", "101"),
            ("Ms. Lalic is a ninety-five-year-old woman", "ninety-five"),
            ("a one hundred and two-year-old woman", "one hundred and two"),
            ("NINETY-SEVEN-YEAR-OLD MAN", "NINETY-SEVEN"),
            ("JONES, MARY  6835881  08/08/1958  102F", "102"),
            ("multiplex.,102 yo woman w/ hx of CHF", "102"),
            ("AGE: 91,2.  Utilization", "91"),
            ("His mother died of a stroke in her 90s.", "90s"),
        ] {
            assert_finds(text, age, "AGE");
        }
        assert!(found("Sats in the 90s on room air, in his 80s").is_empty());
        for text in [
            "His brother, 92% sat",
            "father died at 80",
            "T 102F after the dose",
            "ninety patients",
            "ages 90,000 units",
        ] {
            assert!(!found(text).iter().any(|(_, k)| *k == "AGE"), "no age in {text:?}: {:?}", found(text));
        }
    }

    #[test]
    fn dates_as_real_notes_write_them() {
        for (text, date) in [
            // A month and a year from 1950 on that cannot be a day, without a cue.
            ("PAST SURGICAL HISTORY: Gallbladder 7/82. Hernia 5/79", "7/82"),
            ("PAST SURGICAL HISTORY: Gallbladder 7/82. Hernia 5/79", "5/79"),
            ("s/p femoral-popliteal bypass (8/94) and graft thrombosis", "8/94"),
            ("four courses of chemotherapy (3/92, 6/92, 9/92 ,10/92).", "10/92"),
            ("PMH: 1)8/92 evaluation for presyncope", "8/92"),
            // Zero-padded month/year (or month/day): a date either way.
            ("status post anterior wall MI 07/07 and was found", "07/07"),
            ("the one in 03/06 was negative.", "03/06"),
            ("done previously in late 12/09 and", "12/09"),
            ("ejection fraction 40% 12/08 with no decompensation", "12/08"),
            // A cue right before a full date outweighs a ratio word further back.
            ("knee pain since 03/10/03 after falling", "03/10/03"),
            ("elevation and PA pressure.  On 05/12/08, preserved", "05/12/08"),
            ("fell four times on 1/3/93, because", "1/3/93"),
            // Glued to the word before, or with a stray space.
            ("placed on ASA and discharged1/19/93.", "1/19/93"),
            ("revoked at the hospital, 12/ 25/2009, when", "12/ 25/2009"),
            // Years in lists, ranges in parentheses, and more cues.
            ("a previous DVT in 1975 and 1985.", "1985"),
            ("sinus surgeries in 1987, 1990 and 2005.", "1990"),
            ("sinus surgeries in 1987, 1990 and 2005.", "2005"),
            ("MI x 2 (1978 and 1979).", "1979"),
            ("Coast Guard between 1951 and 1953.", "1951"),
            ("s/p TURP (1992).", "1992"),
            ("1. Tonsillectomy (1943), 2. Left ureter re-implantation (1960)", "1943"),
            ("hemodialysis (1983-1988),", "1983-1988"),
            ("His history dates back to 2003 when", "2003"),
            ("diagnosed in latter half of 2007.", "2007"),
            ("By 1996 she continued to be followed", "1996"),
            ("taking since her 1980 surgery", "1980"),
            ("cocaine as recently as 2005 with", "2005"),
            ("3) TURP for BPH 1980s, 4) HTN", "1980s"),
            ("She had symptoms Jan-Mar 2008 and", "Jan-Mar 2008"),
            ("admitted 12JAN2008 for chest pain", "12JAN2008"),
            ("MI x 2 (1978 and 1979).", "1978"),
            ("PAST SURGICAL HISTORY: IVC filter placement 1999.", "1999"),
            ("Findings on MRI 1995: mild enlargement", "1995"),
            ("12.  Diabetes type II, 2006.,13.  Painful bunions", "2006"),
            ("status post stent placement 2006-2008.", "2006-2008"),
            ("Her father died in January 2004 of congestive heart failure.", "January 2004"),
            ("history of elevated PSA and biopsy June of this year was", "June"),
            ("brings us to the month of August, at which time", "August"),
        ] {
            assert_finds(text, date, "DATE");
        }
        for text in [
            "Vytorin 10/40 mg one a day.",
            "RBC 3/34mil/mm3 (low)",
            "H&H 10/32 and white count of 7.",
            "a width of 1/32 inch.",
            "CT ratio 12/33",
            "pain is 3/10 today",
            "Apgars 8/9 at birth",
            "platelet count of 2000 as well",
            "was greater than 2000.",
            "The B12 level was 2000.",
            "beta-quant level of 1931 and",
            "Weight: 1950, height",
            "she will march 2000 patients",
            "irrigation with 2000 cc of saline",
            "as shown by Smith et al. (2005).",
            "first reported by Jones and Smith (1973) in",
            "Bacon, B. R . (1996) Nat. Genet. 13",
            "and S. Subramani. 1993. J. Cell Biol.",
            "may to march 2000 patients",
            "Take 2MAR tablets",
            "ALT 12MARKED",
            "we will see as soon as 2000 units are given",
            "Escherichia coli strain Nissle 1917.",
            "missense (9/71, 13%), splicing",
            "isease allele in carriers (10/58 alleles examined).",
            "frequency among carriers of 9/64 (14%).",
            "between 1000 and 2000 mL daily",
            "her 2000 mg dose",
            "a total score of 18-20/28.",
            "ABG 7.28/48/46 on admission",
            "pressures were 31/14/21 mmHg.",
        ] {
            assert!(!found(text).iter().any(|(_, k)| *k == "DATE"), "no date in {text:?}: {:?}", found(text));
        }
    }

    #[test]
    fn dates_in_more_forms() {
        for (text, date) in [
            ("switched to D4T in 1/95. However", "1/95"),
            ("right parietal stroke 10/87 with residual", "10/87"),
            ("did well until 8/71 when she", "8/71"),
            ("this was stopped 4/95. The diarrhea", "4/95"),
            ("loose stools since September, but", "September"),
            ("In July, she had eye surgery", "July"),
            ("in early March she fell", "March"),
            ("Soft tissue debridement on 03/16/08 of right thigh", "03/16/08"),
            ("Return to clinic on the 15th for suture removal.", "15th"),
            ("last seen 2.5.01.", "2.5.01"),
            ("we will see her back on january 27.", "january 27"),
            ("until may 25, then home", "may 25"),
            ("prior exam 11-sep-2017 at", "11-sep-2017"),
            ("last mammogram october 2003 at", "october 2003"),
            ("hospitalized in May '95 for pneumonia", "May '95"),
            ("Foley removed 03/04 at 0600", "03/04"),
            ("COMPARISON: 2/12\nFINDINGS", "2/12"),
            ("d/c'd to Mercy Hospital 4/7.", "4/7"),
            ("Last BM 6/9 per pt.", "6/9"),
            ("worked as a mechanic until 2012.", "2012"),
        ] {
            assert_finds(text, date, "DATE");
        }
        for text in [
            "in 2/3 of patients",
            "on the 3rd floor",
            "by the 2nd dose",
            "the 21st century",
            "May be given",
            "April Smith called",
            "Blood cultures 4/4 bottles positive",
            "until 2100 then",
            "PS 5/10/40 of support",
            "you may 2 tabs",
            "march 5 steps",
        ] {
            assert!(!found(text).iter().any(|(_, k)| *k == "DATE"), "no date in {text:?}: {:?}", found(text));
        }
    }

    #[test]
    fn phones_in_more_layouts() {
        for (text, phone) in [
            ("Tel 6-5260  Fax 683-814-7536", "6-5260"),
            ("CELL: X7-3759", "X7-3759"),
            ("Returned call to Mr. Omski at 246-1658, left VM.", "246-1658"),
            ("Message: DOE, JANE / cb 928-0296 / re appt", "928-0296"),
            ("received from Gresek Memorial (553 247 0856) with", "553 247 0856"),
            ("Contact: Belletini, Kraska (aunt) 457 974 0530.", "457 974 0530"),
            ("callback from Dr. Endik, # 343-8582.", "343-8582"),
            ("requesting call back at 6-3207.", "6-3207"),
            ("Left message for Dr Thovic at x 455, awaiting", "x 455"),
        ] {
            assert_finds(text, phone, "PHONE");
        }
        for text in ["call at 3-4000 units", "range at 120-1300 mg", "seen at 1400 today", "L4-5 and 2-3000 cells"] {
            assert!(!found(text).iter().any(|(_, k)| *k == "PHONE"), "no phone in {text:?}: {:?}", found(text));
        }
    }

    #[test]
    fn names_in_headers_signatures_and_messages() {
        for (text, name) in [
            ("findings discussed with Dr.Fanaro by phone", "Fanaro"),
            ("colonoscopy by dr.teiskley, normal", "teiskley"),
            ("Cosigned Jeiprusski, Memchondia 06/24/05", "Jeiprusski, Memchondia"),
            ("From: Ikbal Hivrerov (grandson)", "Ikbal Hivrerov"),
            ("RE: RICARDO MOUNTAIN\nDOB", "RICARDO MOUNTAIN"),
            ("re: prorquist, thevo\ncall back", "prorquist, thevo"),
            ("Message: SAMIC, KRYSTAL / cb 394-5100", "SAMIC, KRYSTAL"),
            ("reviewed with M. Jeiprusski today", "M. Jeiprusski"),
            ("Read by Kambrelsan, Duna MD.", "Kambrelsan, Duna"),
            ("Primary MD: Prarov, Germana, MD  Phone: 5-9314", "Prarov, Germana"),
            ("Technologist: AV.\nINDICATION", "AV"),
            ("technologist: vds.", "vds"),
            ("P. Treford/BC job #S63-08703", "BC"),
            ("J. Karell/P.T. job #DB9301969", "P.T."),
            ("Dictated but not read. N. Toszeski/ATC  D: 5/24/09", "N. Toszeski"),
            ("-- J.L.S.", "J.L.S."),
            ("spoke w/ lopa (daughter) by phone", "lopa"),
            ("Contact: Shertell, Eindar (father) 440-275-5408", "Shertell, Eindar"),
            ("Electronically signed by shaka nairtez, pa-c on Sep 24th at 11:02.", "shaka nairtez"),
            ("kelvin droskova, cna 5/29 0300", "kelvin droskova"),
            ("Interpreter: Dorgrarel Ball, ID 5474408118.", "Dorgrarel Ball"),
            ("sister ph (651) 782 7911 re: Brolsar, Vreson DOB 12/24/1936", "Brolsar, Vreson"),
            ("more confused since 15 mar. advised ed. -l.r.", "l.r."),
        ] {
            assert_finds(text, name, "NAME");
        }
        for text in [
            "RE: Chest Pain",
            "From: Home Health Services",
            "Tech: CT.",
            "and/OR the patient",
            "the patient (wife) called",
            "Hereditary coproporphyria (HCP) is",
            "-- PS",
            "s/p CABG with his (son)",
            "followed by Physical Therapy",
            "call re: Chest Pain",
            "Interpreter: Spanish",
        ] {
            assert!(!found(text).iter().any(|(_, k)| *k == "NAME"), "no name in {text:?}: {:?}", found(text));
        }
    }

    #[test]
    fn places_and_employers_with_a_cue() {
        assert_finds("Chandrafort, RI 02848\nTel", "Chandrafort, RI", "LOCATION");
        assert_finds("Chandrafort, RI 02848\nTel", "02848", "ZIP");
        assert_finds("65 East Stekgemek Terrace\nEast Scamarcio, NM 87913", "East Scamarcio, NM", "LOCATION");
        assert_finds("Lives in KS, here visiting her mother", "KS", "LOCATION");
        assert_finds("Originally from Kryry, Cayman Islands; moved", "Kryry, Cayman Islands", "LOCATION");
        assert_finds("Came to this country from Greece in 2002.", "Greece", "LOCATION");
        assert_finds("born in Finland in 1950", "Finland", "LOCATION");
        assert_finds("plans to go on a cruise to the Bahamas next month", "Bahamas", "LOCATION");
        assert_finds("He was stationed in Germany for two years.", "Germany", "LOCATION");
        assert_finds("visited family in Korea in April", "Korea", "LOCATION");
        assert_finds("lives alone in an apartment in Bamquist; her sister", "Bamquist", "LOCATION");
        assert_finds("lives w/ wife in Prartaro, independent", "Prartaro", "LOCATION");
        assert_finds("Works as a driver for Aindek Auto Body.", "Aindek Auto Body", "HOSPITAL");
        assert_finds("Retired from Droskova Insurance Agency in 2014.", "Droskova Insurance Agency", "HOSPITAL");
        assert_finds("employed by tata logistics as a mechanic until 2014.", "tata logistics", "HOSPITAL");
        assert_finds("retired from shanleystad fire department in 2017.", "shanleystad fire department", "HOSPITAL");
        assert_finds("works as a driver for ramazzotti landscaping.", "ramazzotti landscaping", "HOSPITAL");
        assert_finds("employed by north solorio credit union as a mechanic", "north solorio credit union", "HOSPITAL");
        assert_finds("SHE WORKS IN THE OFFICE AT CAPLIS INSURANCE AGENCY.", "CAPLIS INSURANCE AGENCY", "HOSPITAL");
        assert_finds("quit drinking in 2009, attends meetings at Bimelli Foods.", "Bimelli Foods", "HOSPITAL");
        assert!(found("works for the county road department").is_empty());
        assert_finds(
            "She works for the Social Security Administration in data processing.",
            "Social Security Administration",
            "HOSPITAL",
        );
        assert_finds("will be going to Bowie High School.  She will", "Bowie High School", "HOSPITAL");
        assert!(found("She is in High School now.").is_empty());
        assert!(found("he works for a trucking company").is_empty());
        assert_finds("she worked for Walter P. Carter Center for 21 years", "Walter P. Carter Center", "HOSPITAL");
        assert_finds("Status post CABG in 2008 at Drusic Medical Group.", "Drusic Medical Group", "HOSPITAL");
        assert_finds("transferred to Laelli Nursing and Rehab today", "Laelli Nursing and Rehab", "HOSPITAL");
        assert_finds("presented to Hospital of Bossier on April 14", "Hospital of Bossier", "HOSPITAL");
        assert_finds("released to the patient portal (reskerclinic.com) on", "reskerclinic.com", "URL");
        for text in [
            "transferred to the CT scanner.",
            "works at Home",
            "employed by the County",
            "works for Social Services",
            "referred to the Clinic of Neurology",
            "Hospital of origin unknown",
            "Interpreter: Juar Fay, ID 1194604163.",
        ] {
            assert!(
                !found(text).iter().any(|(_, k)| *k == "LOCATION" || *k == "HOSPITAL"),
                "no place in {text:?}: {:?}",
                found(text)
            );
        }
    }

    #[test]
    fn overlaps_keep_the_earliest_longest_span() {
        let text = "Address: 12 Oak Street, Salem, OR 97301.";
        let spans = detect(text);
        assert_eq!(spans.len(), 1);
        assert_eq!(&text[spans[0].start..spans[0].end], "12 Oak Street, Salem, OR 97301");
        assert_eq!(spans[0].kind, PhiType::Address);
    }

    #[test]
    fn redaction_replaces_spans_with_placeholders() {
        let out = deidentify("Dr. Smith saw Mr. Jones on 03/14/2025, MRN: 12345678.");
        assert_eq!(out.text, "Dr. [NAME] saw Mr. [NAME] on [DATE], MRN: [MRN].");
        assert_eq!(out.spans.len(), 4);
        assert_eq!(deidentify("").text, "");
        assert!(deidentify("").spans.is_empty());
        assert_eq!(deidentify("no phi here").text, "no phi here");
    }

    #[test]
    fn spans_are_sorted_and_disjoint() {
        let text = "Patient: Hunt, Gary MRN: 22035178 DOB: 01/02/1930 Phone: (555) 234-5678 Dr. Hunt 12 Oak St";
        let spans = detect(text);
        assert!(spans.len() >= 5, "{spans:?}");
        for pair in spans.windows(2) {
            assert!(pair[0].end <= pair[1].start, "{spans:?}");
        }
    }

    #[test]
    fn char_offsets_count_characters_not_bytes() {
        let text = "Café — Dr. Müller on 03/14/2025 naïve";
        let spans = detect(text);
        let chars = char_spans(text, &spans);
        let as_chars: Vec<char> = text.chars().collect();
        let pieces: Vec<String> = chars.iter().map(|(s, e, _)| as_chars[*s..*e].iter().collect()).collect();
        assert_eq!(pieces, vec!["Müller", "03/14/2025"]);
        assert_eq!(chars[0].0, 11);
        // ASCII: identical to bytes.
        let ascii = "Dr. Smith";
        assert_eq!(char_spans(ascii, &detect(ascii)), vec![(4, 9, PhiType::Name)]);
    }

    #[test]
    fn real_text_false_positives_stay_fixed() {
        // Each of these was flagged once on the shared development corpus.
        assert_clean("No significant MR. Mitral inflow pattern was normal.");
        assert_clean("Mr. President, Mr. Speaker, Mr. Vice President, Mr. Chief Justice");
        assert_clean("pectin methylesterase (EC 3.1.1.11) activity");
        assert_clean("1,3,5,7-tetraazatricyclo[3.3.1.13,7]decane");
        assert_clean("using MapQuest.com and ClinicalTrials.gov and drugs.com");
        assert_clean("CC: Low Back Pain (LBP) with weakness");
        assert_clean("adding methotrexate.,Sample Doctor M.D.");
        // Placeholders of template and already de-identified notes are not names, and another
        // de-identifier's masks are not spread through the document.
        assert_clean("Lupron by Dr. Y. The only other");
        assert_clean("Dr. XXXX reviewed. COMPARISON: XXXX, XXXX.");
    }

    #[test]
    fn one_pass_equals_rule_by_rule() {
        let texts = [
            "Patient: Hunt, Gary    MRN: 22035178\nDOB: 9/18/90    Date of service: November 17, 2022\nProvider: Dr. Teresa Allen\n",
            "Address: 7042 Birch Place, Apt 4D, Phoenix, AZ 85058\nPhone: 304.467.2556\nEmail: powens17@example.org\nSSN: 123-45-6789",
            "Mr. Owens is a 92-year-old male seen 03/14/2025 and 14th of March 2025; BP 120/80, pain 5/10, L4-L5, A00.1.",
            "Electronically signed by Dr. Fatima Shaw, MD on 02/18/2025. Office: (595) 283-0815. Fax: 595-283-0816.",
            "MR. OWENS IS A 92-YEAR-OLD MALE. DR. MENDEZ ON 02/24/2025. NO SIGNIFICANT MR. Mitral inflow.",
            "see https://portal.example.com/p?id=7, host 192.168.10.254, fe80::1ff:fe23:4567:890a, PO Box 12, Salem, OR 97301",
            "Café — Dr. Müller on 03/14/2025 naïve; aged 95; 93 yo F; age 90 days; May 5 more; 3 Mar; 13/45/2020",
            "seen on 8/14, 4/10-4/12 and 12/1-12/5; pain 3/10; BP 120/80; CABG (2004); since 1998; quit in '98",
            "per W. Smith; spoke with Mary Jones; wife (Mary Ann); RN Mary; jane roe, rn\n-- M. Jones, RN\nDR JONES",
            "transferred to St. Mary's, then Saint Joseph Hospital; lives in St. Paul, Minnesota; from Ohio",
            "call wife at 555-1234, x4-5678, ext 22, (555) 123 4567, pgr 1234; Springfield, IL 62701",
        ];
        for text in texts {
            assert_eq!(detect(text), detect_rule_by_rule(text), "{text:?}");
            assert!(!detect(text).is_empty());
        }
    }

    #[test]
    fn placeholder_types_are_listed_once() {
        let names: Vec<_> = PhiType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names.len(), PhiType::ALL.len());
        assert_eq!(names.len(), 14);
        for t in PhiType::ALL {
            assert_eq!(t.placeholder(), format!("[{}]", t.as_str()));
        }
    }
}
