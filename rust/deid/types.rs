//! The PHI types and spans every part of the de-identifier shares.

/// The placeholder types, in the order `deid_types()` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PhiType {
    Name,
    Mrn,
    Ssn,
    Phone,
    Fax,
    Email,
    Url,
    Ip,
    Address,
    Zip,
    Date,
    Age,
    /// Hospitals, clinics, practices and other health-care organizations.
    Hospital,
    /// Cities, towns, states, countries and other places outside a street address.
    Location,
}

impl PhiType {
    pub const ALL: [PhiType; 14] = [
        PhiType::Name,
        PhiType::Mrn,
        PhiType::Ssn,
        PhiType::Phone,
        PhiType::Fax,
        PhiType::Email,
        PhiType::Url,
        PhiType::Ip,
        PhiType::Address,
        PhiType::Zip,
        PhiType::Date,
        PhiType::Age,
        PhiType::Hospital,
        PhiType::Location,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PhiType::Name => "NAME",
            PhiType::Mrn => "MRN",
            PhiType::Ssn => "SSN",
            PhiType::Phone => "PHONE",
            PhiType::Fax => "FAX",
            PhiType::Email => "EMAIL",
            PhiType::Url => "URL",
            PhiType::Ip => "IP",
            PhiType::Address => "ADDRESS",
            PhiType::Zip => "ZIP",
            PhiType::Date => "DATE",
            PhiType::Age => "AGE",
            PhiType::Hospital => "HOSPITAL",
            PhiType::Location => "LOCATION",
        }
    }

    /// The text that replaces a finding: `[NAME]`, `[DATE]`, ...
    pub fn placeholder(self) -> &'static str {
        match self {
            PhiType::Name => "[NAME]",
            PhiType::Mrn => "[MRN]",
            PhiType::Ssn => "[SSN]",
            PhiType::Phone => "[PHONE]",
            PhiType::Fax => "[FAX]",
            PhiType::Email => "[EMAIL]",
            PhiType::Url => "[URL]",
            PhiType::Ip => "[IP]",
            PhiType::Address => "[ADDRESS]",
            PhiType::Zip => "[ZIP]",
            PhiType::Date => "[DATE]",
            PhiType::Age => "[AGE]",
            PhiType::Hospital => "[HOSPITAL]",
            PhiType::Location => "[LOCATION]",
        }
    }
}

/// One finding: `text[start..end]` (byte offsets) is PHI of type `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: PhiType,
}

/// Scrubbed text and the findings, in byte offsets of the original text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deidentified {
    pub text: String,
    pub spans: Vec<Span>,
}
