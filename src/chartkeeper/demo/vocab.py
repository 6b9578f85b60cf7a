"""Clinical vocabulary embedded for the synthetic population: ICD-10-CM, SNOMED CT, LOINC, UCUM, RxNorm, CVX.

Every ICD-10-CM code and display below was checked against the FY2025 ICD-10-CM tabular list: the
``icd10`` codes are billable (leaf) codes, the ``header`` codes are their non-billable categories, and
each ``*_display`` is the code's official description (for codes of 60 characters or fewer this is also
the CMS short description). ``INVALID`` codes are deliberately absent from ICD-10-CM.

Tables are tuples of plain tuples/dataclasses, built once at import; nothing here is mutated.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------------
# Code system URIs
# ---------------------------------------------------------------------------------------------------
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
NPI = "http://hl7.org/fhir/sid/us-npi"
SSN = "http://hl7.org/fhir/sid/us-ssn"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5"
BCP47 = "urn:ietf:bcp:47"

CS = "http://terminology.hl7.org/CodeSystem/"
CONDITION_CLINICAL = CS + "condition-clinical"
CONDITION_VER = CS + "condition-ver-status"
CONDITION_CATEGORY = CS + "condition-category"
OBS_CATEGORY = CS + "observation-category"
OBS_INTERPRETATION = CS + "v3-ObservationInterpretation"
ACT_CODE = CS + "v3-ActCode"
PARTICIPATION_TYPE = CS + "v3-ParticipationType"
DIAGNOSIS_ROLE = CS + "diagnosis-role"
ADMIT_SOURCE = CS + "admit-source"
DISCHARGE_DISPOSITION = CS + "discharge-disposition"
V2_0203 = CS + "v2-0203"
V2_0074 = CS + "v2-0074"
MARITAL = CS + "v3-MaritalStatus"
ROLE_CODE = CS + "v3-RoleCode"
ORG_TYPE = CS + "organization-type"
PRACTITIONER_ROLE = CS + "practitioner-role"
ALLERGY_CLINICAL = CS + "allergyintolerance-clinical"
ALLERGY_VER = CS + "allergyintolerance-verification"
DOC_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"


# ---------------------------------------------------------------------------------------------------
# Diagnoses
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One diagnosis as a clinician names it and as it should be coded.

    setting: 'chronic' (problem list, from the person's health profile), 'acute' (office visit),
    'ed' (emergency department) or 'inpatient' (principal diagnosis of an admission). A diagnosis
    may be listed under several settings by repeating the code with another key.
    confusable: a valid billable ICD-10-CM code coders mistake for this one (for planted miscoding).
    """

    key: str
    text: str
    icd10: str
    icd10_display: str
    header: str
    header_display: str
    snomed: str | None
    snomed_display: str | None
    setting: str
    confusable: str | None = None
    confusable_display: str | None = None

    @property
    def invalid_code(self) -> str:
        """A code that looks plausible but does not exist in ICD-10-CM (a leaf code plus a digit)."""
        return self.icd10 + ("9" if "." in self.icd10 else ".9")


def _d(
    key: str,
    text: str,
    icd: tuple[str, str],
    header: tuple[str, str],
    sct: tuple[str, str] | None,
    setting: str,
    confusable: tuple[str, str] | None = None,
) -> Diagnosis:
    return Diagnosis(
        key=key,
        text=text,
        icd10=icd[0],
        icd10_display=icd[1],
        header=header[0],
        header_display=header[1],
        snomed=sct[0] if sct else None,
        snomed_display=sct[1] if sct else None,
        setting=setting,
        confusable=confusable[0] if confusable else None,
        confusable_display=confusable[1] if confusable else None,
    )


_E11 = ("E11", "Type 2 diabetes mellitus")
_N18 = ("N18", "Chronic kidney disease (CKD)")
_E78 = ("E78", "Disorders of lipoprotein metabolism and other lipidemias")
_J45 = ("J45", "Asthma")
_J44 = ("J44", "Other chronic obstructive pulmonary disease")

DIAGNOSES: tuple[Diagnosis, ...] = (
    # --- chronic (problem list) -------------------------------------------------------------------
    _d(
        "dm2",
        "Type 2 diabetes mellitus",
        ("E11.9", "Type 2 diabetes mellitus without complications"),
        _E11,
        ("44054006", "Diabetes mellitus type 2"),
        "chronic",
        ("E10.9", "Type 1 diabetes mellitus without complications"),
    ),
    _d(
        "dm2_hyper",
        "Type 2 diabetes with hyperglycemia",
        ("E11.65", "Type 2 diabetes mellitus with hyperglycemia"),
        _E11,
        None,
        "chronic",
        ("E11.8", "Type 2 diabetes mellitus with unspecified complications"),
    ),
    _d(
        "dm2_ckd",
        "Type 2 diabetes with diabetic CKD",
        ("E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease"),
        _E11,
        None,
        "chronic",
        ("E11.9", "Type 2 diabetes mellitus without complications"),
    ),
    _d(
        "dm1",
        "Type 1 diabetes mellitus",
        ("E10.9", "Type 1 diabetes mellitus without complications"),
        ("E10", "Type 1 diabetes mellitus"),
        ("46635009", "Diabetes mellitus type 1"),
        "chronic",
        ("E11.9", "Type 2 diabetes mellitus without complications"),
    ),
    _d(
        "prediabetes",
        "Prediabetes",
        ("R73.03", "Prediabetes"),
        ("R73", "Elevated blood glucose level"),
        ("15777000", "Prediabetes"),
        "chronic",
    ),
    _d(
        "htn",
        "Essential hypertension",
        ("I10", "Essential (primary) hypertension"),
        ("I10", "Essential (primary) hypertension"),  # I10 is itself a billable 3-character code
        ("59621000", "Essential hypertension"),
        "chronic",
        ("I15.9", "Secondary hypertension, unspecified"),
    ),
    _d(
        "hld",
        "Hyperlipidemia",
        ("E78.5", "Hyperlipidemia, unspecified"),
        _E78,
        ("55822004", "Hyperlipidemia"),
        "chronic",
        ("E78.00", "Pure hypercholesterolemia, unspecified"),
    ),
    _d(
        "hchol",
        "Hypercholesterolemia",
        ("E78.00", "Pure hypercholesterolemia, unspecified"),
        _E78,
        ("13644009", "Hypercholesterolemia"),
        "chronic",
        ("E78.5", "Hyperlipidemia, unspecified"),
    ),
    _d(
        "cad",
        "Coronary artery disease",
        ("I25.10", "Atherosclerotic heart disease of native coronary artery without angina pectoris"),
        ("I25", "Chronic ischemic heart disease"),
        ("53741008", "Coronary arteriosclerosis"),
        "chronic",
        ("I21.9", "Acute myocardial infarction, unspecified"),
    ),
    _d(
        "afib",
        "Atrial fibrillation",
        ("I48.91", "Unspecified atrial fibrillation"),
        ("I48", "Atrial fibrillation and flutter"),
        ("49436004", "Atrial fibrillation"),
        "chronic",
        ("I48.92", "Unspecified atrial flutter"),
    ),
    _d(
        "hf",
        "Heart failure",
        ("I50.9", "Heart failure, unspecified"),
        ("I50", "Heart failure"),
        ("84114007", "Heart failure"),
        "chronic",
        ("I50.22", "Chronic systolic (congestive) heart failure"),
    ),
    _d(
        "ckd3",
        "Chronic kidney disease stage 3",
        ("N18.30", "Chronic kidney disease, stage 3 unspecified"),
        _N18,
        ("433144002", "Chronic kidney disease stage 3"),
        "chronic",
        ("N18.4", "Chronic kidney disease, stage 4 (severe)"),
    ),
    _d(
        "ckd4",
        "Chronic kidney disease stage 4",
        ("N18.4", "Chronic kidney disease, stage 4 (severe)"),
        _N18,
        ("431857002", "Chronic kidney disease stage 4"),
        "chronic",
        ("N18.30", "Chronic kidney disease, stage 3 unspecified"),
    ),
    _d(
        "asthma",
        "Asthma",
        ("J45.909", "Unspecified asthma, uncomplicated"),
        _J45,
        ("195967001", "Asthma"),
        "chronic",
        ("J44.9", "Chronic obstructive pulmonary disease, unspecified"),
    ),
    _d(
        "copd",
        "COPD",
        ("J44.9", "Chronic obstructive pulmonary disease, unspecified"),
        _J44,
        ("13645005", "Chronic obstructive lung disease"),
        "chronic",
        ("J45.909", "Unspecified asthma, uncomplicated"),
    ),
    _d(
        "mdd",
        "Major depressive disorder, single episode",
        ("F32.9", "Major depressive disorder, single episode, unspecified"),
        ("F32", "Depressive episode"),
        ("36923009", "Major depression, single episode"),
        "chronic",
        ("F33.9", "Major depressive disorder, recurrent, unspecified"),
    ),
    _d(
        "gad",
        "Generalized anxiety disorder",
        ("F41.1", "Generalized anxiety disorder"),
        ("F41", "Other anxiety disorders"),
        ("21897009", "Generalized anxiety disorder"),
        "chronic",
        ("F32.9", "Major depressive disorder, single episode, unspecified"),
    ),
    _d(
        "hypothyroid",
        "Hypothyroidism",
        ("E03.9", "Hypothyroidism, unspecified"),
        ("E03", "Other hypothyroidism"),
        ("40930008", "Hypothyroidism"),
        "chronic",
    ),
    _d(
        "obesity",
        "Obesity",
        ("E66.9", "Obesity, unspecified"),
        ("E66", "Overweight and obesity"),
        ("414916001", "Obesity"),
        "chronic",
        ("E66.01", "Morbid (severe) obesity due to excess calories"),
    ),
    _d(
        "oa_knee",
        "Osteoarthritis of right knee",
        ("M17.11", "Unilateral primary osteoarthritis, right knee"),
        ("M17", "Osteoarthritis of knee"),
        ("239873007", "Osteoarthritis of knee"),
        "chronic",
        ("M17.12", "Unilateral primary osteoarthritis, left knee"),
    ),
    _d(
        "osteoporosis",
        "Osteoporosis",
        ("M81.0", "Age-related osteoporosis without current pathological fracture"),
        ("M81", "Osteoporosis without current pathological fracture"),
        ("64859006", "Osteoporosis"),
        "chronic",
    ),
    _d(
        "gerd",
        "GERD",
        ("K21.9", "Gastro-esophageal reflux disease without esophagitis"),
        ("K21", "Gastro-esophageal reflux disease"),
        ("235595009", "Gastroesophageal reflux disease"),
        "chronic",
    ),
    _d(
        "migraine",
        "Migraine",
        ("G43.909", "Migraine, unspecified, not intractable, without status migrainosus"),
        ("G43", "Migraine"),
        ("37796009", "Migraine"),
        "chronic",
    ),
    _d(
        "adhd",
        "ADHD",
        ("F90.9", "Attention-deficit hyperactivity disorder, unspecified type"),
        ("F90", "Attention-deficit hyperactivity disorders"),
        ("406506008", "Attention deficit hyperactivity disorder"),
        "chronic",
    ),
    _d(
        "osa",
        "Obstructive sleep apnea",
        ("G47.33", "Obstructive sleep apnea (adult) (pediatric)"),
        ("G47", "Sleep disorders"),
        ("78275009", "Obstructive sleep apnea syndrome"),
        "chronic",
    ),
    _d(
        "anemia",
        "Anemia",
        ("D64.9", "Anemia, unspecified"),
        ("D64", "Other anemias"),
        ("271737000", "Anemia"),
        "chronic",
    ),
    _d(
        "alzheimers",
        "Alzheimer's disease",
        ("G30.9", "Alzheimer's disease, unspecified"),
        ("G30", "Alzheimer's disease"),
        ("26929004", "Alzheimer's disease"),
        "chronic",
    ),
    _d(
        "lbp",
        "Low back pain",
        ("M54.50", "Low back pain, unspecified"),
        ("M54", "Dorsalgia"),
        ("279039007", "Low back pain"),
        "chronic",
    ),
    _d(
        "rhinitis",
        "Allergic rhinitis",
        ("J30.9", "Allergic rhinitis, unspecified"),
        ("J30", "Vasomotor and allergic rhinitis"),
        ("61582004", "Allergic rhinitis"),
        "chronic",
    ),
    _d(
        "tobacco",
        "Nicotine dependence, cigarettes",
        ("F17.210", "Nicotine dependence, cigarettes, uncomplicated"),
        ("F17", "Nicotine dependence"),
        ("56294008", "Nicotine dependence"),
        "chronic",
    ),
    _d(
        "vitd",
        "Vitamin D deficiency",
        ("E55.9", "Vitamin D deficiency, unspecified"),
        ("E55", "Vitamin D deficiency"),
        ("34713006", "Vitamin D deficiency"),
        "chronic",
    ),
    _d(
        "bph",
        "Benign prostatic hyperplasia",
        ("N40.0", "Benign prostatic hyperplasia without lower urinary tract symptoms"),
        ("N40", "Benign prostatic hyperplasia"),
        ("266569009", "Benign prostatic hyperplasia"),
        "chronic",
    ),
    _d(
        "breast_ca",
        "Breast cancer, right",
        ("C50.911", "Malignant neoplasm of unspecified site of right female breast"),
        ("C50", "Malignant neoplasm of breast"),
        ("254837009", "Malignant neoplasm of breast"),
        "chronic",
    ),
    _d(
        "prostate_ca",
        "Prostate cancer",
        ("C61", "Malignant neoplasm of prostate"),
        ("C61", "Malignant neoplasm of prostate"),  # C61 is a billable 3-character code
        ("399068003", "Malignant tumor of prostate"),
        "chronic",
    ),
    _d(
        "diverticulosis",
        "Diverticulosis of colon",
        ("K57.30", "Diverticulosis of large intestine without perforation or abscess without bleeding"),
        ("K57", "Diverticular disease of intestine"),
        None,
        "chronic",
    ),
    # --- acute, office visits ---------------------------------------------------------------------
    _d(
        "uri",
        "Upper respiratory infection",
        ("J06.9", "Acute upper respiratory infection, unspecified"),
        ("J06", "Acute upper respiratory infections of multiple and unspecified sites"),
        ("54150009", "Upper respiratory infection"),
        "acute",
    ),
    _d(
        "pharyngitis",
        "Acute pharyngitis",
        ("J02.9", "Acute pharyngitis, unspecified"),
        ("J02", "Acute pharyngitis"),
        ("363746003", "Acute pharyngitis"),
        "acute",
        ("J02.0", "Streptococcal pharyngitis"),
    ),
    _d(
        "strep",
        "Strep throat",
        ("J02.0", "Streptococcal pharyngitis"),
        ("J02", "Acute pharyngitis"),
        ("43878008", "Streptococcal sore throat"),
        "acute",
        ("J02.9", "Acute pharyngitis, unspecified"),
    ),
    _d(
        "sinusitis",
        "Acute sinusitis",
        ("J01.90", "Acute sinusitis, unspecified"),
        ("J01", "Acute sinusitis"),
        ("15805002", "Acute sinusitis"),
        "acute",
    ),
    _d(
        "bronchitis",
        "Acute bronchitis",
        ("J20.9", "Acute bronchitis, unspecified"),
        ("J20", "Acute bronchitis"),
        ("10509002", "Acute bronchitis"),
        "acute",
        ("J18.9", "Pneumonia, unspecified organism"),
    ),
    _d(
        "otitis",
        "Otitis media",
        ("H66.90", "Otitis media, unspecified, unspecified ear"),
        ("H66", "Suppurative and unspecified otitis media"),
        ("65363002", "Otitis media"),
        "acute",
    ),
    _d(
        "uti",
        "Urinary tract infection",
        ("N39.0", "Urinary tract infection, site not specified"),
        ("N39", "Other disorders of urinary system"),
        ("68566005", "Urinary tract infectious disease"),
        "acute",
        ("N30.00", "Acute cystitis without hematuria"),
    ),
    _d(
        "gastroenteritis",
        "Gastroenteritis",
        ("A09", "Infectious gastroenteritis and colitis, unspecified"),
        ("A09", "Infectious gastroenteritis and colitis, unspecified"),
        ("25374005", "Gastroenteritis"),
        "acute",
    ),
    _d(
        "headache",
        "Headache",
        ("R51.9", "Headache, unspecified"),
        ("R51", "Headache"),
        ("25064002", "Headache"),
        "acute",
    ),
    _d(
        "cellulitis",
        "Cellulitis of right leg",
        ("L03.115", "Cellulitis of right lower limb"),
        ("L03", "Cellulitis and acute lymphangitis"),
        ("128045006", "Cellulitis"),
        "acute",
        ("L03.116", "Cellulitis of left lower limb"),
    ),
    _d(
        "covid",
        "COVID-19",
        ("U07.1", "COVID-19"),
        ("U07", "Emergency use of U07"),
        ("840539006", "Disease caused by severe acute respiratory syndrome coronavirus 2"),
        "acute",
    ),
    _d(
        "ankle_sprain",
        "Right ankle sprain",
        ("S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter"),
        ("S93", "Dislocation and sprain of joints and ligaments at ankle, foot and toe level"),
        ("44465007", "Sprain of ankle"),
        "acute",
        ("S93.402A", "Sprain of unspecified ligament of left ankle, initial encounter"),
    ),
    # --- emergency department ---------------------------------------------------------------------
    _d(
        "chest_pain",
        "Chest pain",
        ("R07.9", "Chest pain, unspecified"),
        ("R07", "Pain in throat and chest"),
        ("29857009", "Chest pain"),
        "ed",
        ("R07.89", "Other chest pain"),
    ),
    _d(
        "abd_pain",
        "Abdominal pain",
        ("R10.9", "Unspecified abdominal pain"),
        ("R10", "Abdominal and pelvic pain"),
        ("21522001", "Abdominal pain"),
        "ed",
    ),
    _d(
        "hand_laceration",
        "Laceration of left hand",
        ("S61.412A", "Laceration without foreign body of left hand, initial encounter"),
        ("S61", "Open wound of wrist, hand and fingers"),
        ("284549007", "Laceration of hand"),
        "ed",
        ("S61.411A", "Laceration without foreign body of right hand, initial encounter"),
    ),
    _d(
        "concussion",
        "Concussion without LOC",
        ("S06.0X0A", "Concussion without loss of consciousness, initial encounter"),
        ("S06", "Intracranial injury"),
        ("62106007", "Concussion with no loss of consciousness"),
        "ed",
    ),
    _d(
        "ed_sprain",
        "Ankle sprain",
        ("S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter"),
        ("S93", "Dislocation and sprain of joints and ligaments at ankle, foot and toe level"),
        ("44465007", "Sprain of ankle"),
        "ed",
        ("S93.402A", "Sprain of unspecified ligament of left ankle, initial encounter"),
    ),
    _d(
        "syncope",
        "Syncope",
        ("R55", "Syncope and collapse"),
        ("R55", "Syncope and collapse"),
        ("271594007", "Syncope"),
        "ed",
    ),
    _d(
        "dehydration",
        "Dehydration",
        ("E86.0", "Dehydration"),
        ("E86", "Volume depletion"),
        ("34095006", "Dehydration"),
        "ed",
    ),
    _d(
        "asthma_exac",
        "Asthma exacerbation",
        ("J45.901", "Unspecified asthma with (acute) exacerbation"),
        _J45,
        ("304527002", "Acute asthma"),
        "ed",
        ("J45.909", "Unspecified asthma, uncomplicated"),
    ),
    _d(
        "ed_uti",
        "UTI",
        ("N39.0", "Urinary tract infection, site not specified"),
        ("N39", "Other disorders of urinary system"),
        ("68566005", "Urinary tract infectious disease"),
        "ed",
        ("N30.00", "Acute cystitis without hematuria"),
    ),
    # --- inpatient principal diagnoses ------------------------------------------------------------
    _d(
        "pneumonia",
        "Pneumonia",
        ("J18.9", "Pneumonia, unspecified organism"),
        ("J18", "Pneumonia, unspecified organism"),
        ("233604007", "Pneumonia"),
        "inpatient",
        ("J20.9", "Acute bronchitis, unspecified"),
    ),
    _d(
        "sepsis",
        "Sepsis",
        ("A41.9", "Sepsis, unspecified organism"),
        ("A41", "Other sepsis"),
        ("91302008", "Sepsis"),
        "inpatient",
    ),
    _d(
        "mi",
        "Acute myocardial infarction",
        ("I21.9", "Acute myocardial infarction, unspecified"),
        ("I21", "Acute myocardial infarction"),
        ("22298006", "Myocardial infarction"),
        "inpatient",
        ("I25.10", "Atherosclerotic heart disease of native coronary artery without angina pectoris"),
    ),
    _d(
        "stroke",
        "Ischemic stroke",
        ("I63.9", "Cerebral infarction, unspecified"),
        ("I63", "Cerebral infarction"),
        ("432504007", "Cerebral infarction"),
        "inpatient",
        ("I61.9", "Nontraumatic intracerebral hemorrhage, unspecified"),
    ),
    _d(
        "appendicitis",
        "Acute appendicitis",
        ("K35.80", "Unspecified acute appendicitis"),
        ("K35", "Acute appendicitis"),
        ("85189001", "Acute appendicitis"),
        "inpatient",
    ),
    _d(
        "pe",
        "Pulmonary embolism",
        ("I26.99", "Other pulmonary embolism without acute cor pulmonale"),
        ("I26", "Pulmonary embolism"),
        ("59282003", "Pulmonary embolism"),
        "inpatient",
    ),
    _d(
        "hip_fracture",
        "Right hip fracture",
        (
            "S72.001A",
            "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture",
        ),
        ("S72", "Fracture of femur"),
        ("5913000", "Fracture of neck of femur"),
        "inpatient",
    ),
    _d(
        "cholelithiasis",
        "Gallstones",
        ("K80.20", "Calculus of gallbladder without cholecystitis without obstruction"),
        ("K80", "Cholelithiasis"),
        ("235919008", "Cholelithiasis"),
        "inpatient",
    ),
    _d(
        "copd_exac",
        "COPD exacerbation",
        ("J44.1", "Chronic obstructive pulmonary disease with (acute) exacerbation"),
        _J44,
        ("195951007", "Acute exacerbation of chronic obstructive airways disease"),
        "inpatient",
        ("J44.9", "Chronic obstructive pulmonary disease, unspecified"),
    ),
    _d(
        "ip_cellulitis",
        "Cellulitis of right leg",
        ("L03.115", "Cellulitis of right lower limb"),
        ("L03", "Cellulitis and acute lymphangitis"),
        ("128045006", "Cellulitis"),
        "inpatient",
        ("L03.116", "Cellulitis of left lower limb"),
    ),
    _d(
        "ip_covid",
        "COVID-19 pneumonia",
        ("U07.1", "COVID-19"),
        ("U07", "Emergency use of U07"),
        ("840539006", "Disease caused by severe acute respiratory syndrome coronavirus 2"),
        "inpatient",
    ),
)

DIAGNOSIS_BY_KEY: dict[str, Diagnosis] = {d.key: d for d in DIAGNOSES}

#: Every ICD-10-CM code used above as a correct (billable) code, with its official description.
BILLABLE_ICD10CM: dict[str, str] = {}
for _dx in DIAGNOSES:
    BILLABLE_ICD10CM[_dx.icd10] = _dx.icd10_display
    if _dx.confusable and _dx.confusable_display:
        BILLABLE_ICD10CM[_dx.confusable] = _dx.confusable_display
#: Non-billable category (header) codes, with their official descriptions. I10, A09, R55 and C61 are
#: billable 3-character codes and so never used as header codes.
HEADER_ICD10CM: dict[str, str] = {
    d.header: d.header_display for d in DIAGNOSES if d.header not in BILLABLE_ICD10CM
}

# Chronic prevalence by age band: (diagnosis key, minimum age, p[0-17], p[18-44], p[45-64], p[65+], sex)
# Exclusive groups: only the first drawn member of a group is kept.
CHRONIC_PREVALENCE: tuple[tuple[str, int, float, float, float, float, str | None], ...] = (
    ("htn", 12, 0.01, 0.12, 0.38, 0.62, None),
    ("hld", 18, 0.0, 0.08, 0.28, 0.42, None),
    ("hchol", 18, 0.0, 0.02, 0.06, 0.06, None),
    ("dm2", 10, 0.003, 0.04, 0.13, 0.21, None),
    ("dm1", 1, 0.003, 0.004, 0.004, 0.003, None),
    ("prediabetes", 10, 0.01, 0.08, 0.12, 0.12, None),
    ("obesity", 2, 0.10, 0.22, 0.28, 0.22, None),
    ("asthma", 2, 0.08, 0.08, 0.08, 0.07, None),
    ("copd", 35, 0.0, 0.01, 0.06, 0.11, None),
    ("cad", 30, 0.0, 0.005, 0.06, 0.16, None),
    ("afib", 30, 0.0, 0.002, 0.02, 0.09, None),
    ("hf", 30, 0.0, 0.002, 0.02, 0.07, None),
    ("ckd3", 18, 0.0, 0.01, 0.05, 0.14, None),
    ("ckd4", 18, 0.0, 0.0, 0.005, 0.02, None),
    ("mdd", 12, 0.03, 0.09, 0.09, 0.07, None),
    ("gad", 8, 0.04, 0.08, 0.07, 0.05, None),
    ("hypothyroid", 10, 0.002, 0.03, 0.07, 0.12, None),
    ("gerd", 10, 0.01, 0.08, 0.14, 0.16, None),
    ("migraine", 8, 0.03, 0.10, 0.07, 0.03, None),
    ("adhd", 5, 0.09, 0.04, 0.01, 0.0, None),
    ("osa", 5, 0.005, 0.04, 0.10, 0.12, None),
    ("anemia", 1, 0.02, 0.03, 0.04, 0.08, None),
    ("alzheimers", 55, 0.0, 0.0, 0.003, 0.08, None),
    ("lbp", 18, 0.0, 0.06, 0.08, 0.08, None),
    ("rhinitis", 3, 0.10, 0.10, 0.08, 0.05, None),
    ("tobacco", 15, 0.01, 0.12, 0.13, 0.07, None),
    ("vitd", 2, 0.02, 0.05, 0.06, 0.07, None),
    ("bph", 45, 0.0, 0.0, 0.12, 0.35, "male"),
    ("oa_knee", 35, 0.0, 0.01, 0.08, 0.20, None),
    ("osteoporosis", 45, 0.0, 0.0, 0.04, 0.18, "female"),
    ("breast_ca", 30, 0.0, 0.002, 0.01, 0.03, "female"),
    ("prostate_ca", 45, 0.0, 0.0, 0.01, 0.05, "male"),
    ("diverticulosis", 35, 0.0, 0.01, 0.05, 0.10, None),
)
EXCLUSIVE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"dm2", "dm1", "prediabetes"}),
    frozenset({"ckd3", "ckd4"}),
    frozenset({"hld", "hchol"}),
)

# Acute office-visit, ED and inpatient diagnoses: (key, weight, min age, max age, sex)
ACUTE_CHOICES: tuple[tuple[str, float, int, int, str | None], ...] = (
    ("uri", 6.0, 0, 120, None),
    ("pharyngitis", 3.0, 2, 120, None),
    ("strep", 2.0, 3, 40, None),
    ("sinusitis", 3.0, 5, 120, None),
    ("bronchitis", 2.5, 5, 120, None),
    ("otitis", 3.0, 0, 12, None),
    ("uti", 2.5, 15, 120, "female"),
    ("gastroenteritis", 1.5, 0, 120, None),
    ("headache", 1.0, 8, 120, None),
    ("cellulitis", 0.8, 18, 120, None),
    ("covid", 2.0, 0, 120, None),
    ("ankle_sprain", 1.0, 10, 70, None),
)
ED_CHOICES: tuple[tuple[str, float, int, int, str | None], ...] = (
    ("chest_pain", 3.0, 30, 120, None),
    ("abd_pain", 3.0, 5, 120, None),
    ("hand_laceration", 1.5, 5, 90, None),
    ("concussion", 1.0, 4, 120, None),
    ("ed_sprain", 1.5, 8, 80, None),
    ("syncope", 1.0, 40, 120, None),
    ("dehydration", 1.0, 0, 120, None),
    ("asthma_exac", 0.0, 2, 120, None),  # only for asthmatics (weight set at run time)
    ("ed_uti", 1.0, 15, 120, None),
)
INPATIENT_CHOICES: tuple[tuple[str, float, int, int, str | None], ...] = (
    ("pneumonia", 3.0, 0, 120, None),
    ("sepsis", 1.5, 40, 120, None),
    ("mi", 1.5, 40, 120, None),
    ("stroke", 1.2, 50, 120, None),
    ("appendicitis", 1.0, 5, 60, None),
    ("pe", 0.6, 25, 120, None),
    ("hip_fracture", 1.0, 70, 120, None),
    ("cholelithiasis", 0.8, 25, 90, None),
    ("copd_exac", 0.0, 35, 120, None),  # only for COPD patients
    ("ip_cellulitis", 0.8, 20, 120, None),
    ("ip_covid", 1.0, 30, 120, None),
)
COVID_START = "2020-03-01"

# ---------------------------------------------------------------------------------------------------
# Laboratory tests (LOINC, UCUM) and panels
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabTest:
    key: str
    loinc: str
    display: str
    unit: str  # printable unit
    ucum: str  # UCUM code
    low: float | None  # reference range (female for sex-specific tests)
    high: float | None
    low_male: float | None
    high_male: float | None
    decimals: int


def _lab(
    key: str,
    loinc: str,
    display: str,
    unit: str,
    ucum: str,
    low: float | None,
    high: float | None,
    decimals: int,
    male: tuple[float | None, float | None] | None = None,
) -> LabTest:
    lm, hm = male if male else (low, high)
    return LabTest(key, loinc, display, unit, ucum, low, high, lm, hm, decimals)


LABS: dict[str, LabTest] = {
    t.key: t
    for t in (
        _lab("a1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "%", 4.0, 5.6, 1),
        _lab("glucose", "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 70, 99, 0),
        _lab("bun", "3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 7, 20, 0),
        _lab(
            "creatinine",
            "2160-0",
            "Creatinine [Mass/volume] in Serum or Plasma",
            "mg/dL",
            "mg/dL",
            0.5,
            1.1,
            2,
            male=(0.7, 1.3),
        ),
        _lab("sodium", "2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L", 136, 145, 0),
        _lab(
            "potassium",
            "2823-3",
            "Potassium [Moles/volume] in Serum or Plasma",
            "mmol/L",
            "mmol/L",
            3.5,
            5.1,
            1,
        ),
        _lab(
            "egfr",
            "33914-3",
            "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by "
            "Creatinine-based formula (MDRD)",
            "mL/min/1.73m2",
            "mL/min/{1.73_m2}",
            60,
            None,
            0,
        ),
        _lab(
            "chol", "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", None, 199, 0
        ),
        _lab(
            "trig", "2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", None, 149, 0
        ),
        _lab(
            "hdl",
            "2085-9",
            "Cholesterol in HDL [Mass/volume] in Serum or Plasma",
            "mg/dL",
            "mg/dL",
            40,
            None,
            0,
        ),
        _lab(
            "ldl",
            "18262-6",
            "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
            "mg/dL",
            "mg/dL",
            None,
            99,
            0,
        ),
        _lab(
            "wbc",
            "6690-2",
            "Leukocytes [#/volume] in Blood by Automated count",
            "10*3/uL",
            "10*3/uL",
            4.5,
            11.0,
            1,
        ),
        _lab(
            "hgb",
            "718-7",
            "Hemoglobin [Mass/volume] in Blood",
            "g/dL",
            "g/dL",
            12.0,
            15.5,
            1,
            male=(13.5, 17.5),
        ),
        _lab(
            "hct",
            "4544-3",
            "Hematocrit [Volume Fraction] of Blood by Automated count",
            "%",
            "%",
            36,
            46,
            1,
            male=(41, 53),
        ),
        _lab(
            "plt",
            "777-3",
            "Platelets [#/volume] in Blood by Automated count",
            "10*3/uL",
            "10*3/uL",
            150,
            400,
            0,
        ),
        _lab(
            "tsh", "3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "mIU/L", "m[IU]/L", 0.4, 4.0, 2
        ),
    )
}

# (panel key, LOINC, display, member lab keys); a single-test "panel" reports one result.
PANELS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "bmp": (
        "51990-0",
        "Basic metabolic panel - Blood",
        ("glucose", "bun", "creatinine", "sodium", "potassium", "egfr"),
    ),
    "lipid": ("57698-3", "Lipid panel with direct LDL - Serum or Plasma", ("chol", "trig", "hdl", "ldl")),
    "cbc": ("58410-2", "CBC panel - Blood by Automated count", ("wbc", "hgb", "hct", "plt")),
    "a1c": ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", ("a1c",)),
    "tsh": ("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", ("tsh",)),
}

# Vital signs: key -> (LOINC, display, unit, UCUM)
VITALS: dict[str, tuple[str, str, str, str]] = {
    "bp": ("85354-9", "Blood pressure panel with all children optional", "", ""),
    "sbp": ("8480-6", "Systolic blood pressure", "mmHg", "mm[Hg]"),
    "dbp": ("8462-4", "Diastolic blood pressure", "mmHg", "mm[Hg]"),
    "hr": ("8867-4", "Heart rate", "beats/minute", "/min"),
    "bmi": ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", "kg/m2"),
    "weight": ("29463-7", "Body weight", "kg", "kg"),
    "height": ("8302-2", "Body height", "cm", "cm"),
    "temp": ("8310-5", "Body temperature", "Cel", "Cel"),
    "rr": ("9279-1", "Respiratory rate", "breaths/minute", "/min"),
}

# ---------------------------------------------------------------------------------------------------
# Medications (RxNorm clinical drugs) by indication: key -> ((rxcui, name, sig), ...)
# ---------------------------------------------------------------------------------------------------
Med = tuple[str, str, str]
_METFORMIN: Med = (
    "860975",
    "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet",
    "Take 1 tablet by mouth once daily with the evening meal",
)
_INSULIN: Med = (
    "106892",
    "Humulin 70/30 Injectable Suspension",
    "Inject 20 units subcutaneously twice daily before meals",
)
_LISINOPRIL: Med = ("314076", "Lisinopril 10 MG Oral Tablet", "Take 1 tablet by mouth once daily")
_AMLODIPINE: Med = ("197361", "Amlodipine 5 MG Oral Tablet", "Take 1 tablet by mouth once daily")
_HCTZ: Med = ("310798", "Hydrochlorothiazide 25 MG Oral Tablet", "Take 1 tablet by mouth every morning")
_ATORVASTATIN: Med = ("259255", "Atorvastatin 80 MG Oral Tablet", "Take 1 tablet by mouth at bedtime")
_SIMVASTATIN: Med = ("312961", "Simvastatin 20 MG Oral Tablet", "Take 1 tablet by mouth at bedtime")
_CLOPIDOGREL: Med = ("309362", "Clopidogrel 75 MG Oral Tablet", "Take 1 tablet by mouth once daily")
_NITRO: Med = (
    "705129",
    "Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray",
    "1 spray under the tongue as needed for chest pain; may repeat every 5 minutes up to 3 times",
)
_WARFARIN: Med = (
    "855332",
    "Warfarin Sodium 5 MG Oral Tablet",
    "Take as directed per INR; usually 1 tablet daily",
)
_DIGOXIN: Med = ("197604", "Digoxin 0.125 MG Oral Tablet", "Take 1 tablet by mouth once daily")
_METOPROLOL: Med = (
    "866414",
    "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]",
    "Take 1 tablet by mouth once daily",
)
_ALBUTEROL: Med = (
    "745679",
    "200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
    "Inhale 2 puffs every 4 to 6 hours as needed for wheezing",
)
_FLUTICASONE: Med = (
    "895994",
    "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler",
    "Inhale 2 puffs twice daily",
)
_ADVAIR: Med = (
    "896209",
    "60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler",
    "Inhale 1 puff twice daily",
)
_FLUOXETINE: Med = ("310385", "Fluoxetine 20 MG Oral Capsule", "Take 1 capsule by mouth every morning")
_LEVOTHYROXINE: Med = (
    "966222",
    "Levothyroxine Sodium 0.075 MG Oral Tablet",
    "Take 1 tablet by mouth every morning on an empty stomach",
)
_ALENDRONATE: Med = ("904419", "Alendronic acid 10 MG Oral Tablet", "Take 1 tablet by mouth once daily")
_DONEPEZIL: Med = ("997223", "Donepezil hydrochloride 10 MG Oral Tablet", "Take 1 tablet by mouth at bedtime")
_IRON: Med = ("310325", "ferrous sulfate 325 MG Oral Tablet", "Take 1 tablet by mouth once daily")
_METHYLPHENIDATE: Med = (
    "1091392",
    "Methylphenidate Hydrochloride 20 MG Oral Tablet",
    "Take 1 tablet by mouth every morning",
)
_FEXOFENADINE: Med = (
    "997488",
    "Fexofenadine hydrochloride 30 MG Oral Tablet",
    "Take 1 tablet by mouth twice daily as needed",
)
_LORATADINE: Med = ("665078", "Loratadine 5 MG Chewable Tablet", "Chew 1 tablet once daily")
_NAPROXEN: Med = (
    "849574",
    "Naproxen sodium 220 MG Oral Tablet",
    "Take 1 tablet by mouth every 8 to 12 hours as needed for pain",
)
_IBUPROFEN: Med = (
    "310965",
    "Ibuprofen 200 MG Oral Tablet",
    "Take 2 tablets by mouth every 6 hours as needed for pain",
)
_ACETAMINOPHEN: Med = (
    "313782",
    "Acetaminophen 325 MG Oral Tablet",
    "Take 2 tablets by mouth every 6 hours as needed for pain or fever",
)
_AMOXICILLIN: Med = (
    "308182",
    "Amoxicillin 250 MG Oral Capsule",
    "Take 2 capsules by mouth every 12 hours for 10 days",
)
_PENICILLIN: Med = (
    "834061",
    "Penicillin V Potassium 250 MG Oral Tablet",
    "Take 1 tablet by mouth 4 times daily for 10 days",
)
_AUGMENTIN: Med = (
    "562251",
    "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet",
    "Take 1 tablet by mouth every 8 hours for 7 days",
)
_CEFUROXIME: Med = (
    "309097",
    "Cefuroxime 250 MG Oral Tablet",
    "Take 2 tablets by mouth every 12 hours for 7 days",
)
_NITROFURANTOIN: Med = (
    "311995",
    "nitrofurantoin, macrocrystals 50 MG Oral Capsule",
    "Take 1 capsule by mouth 4 times daily for 5 days",
)
_OXYCODONE: Med = (
    "1049221",
    "Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet",
    "Take 1 tablet by mouth every 6 hours as needed for severe pain; max 5 days",
)

CHRONIC_MEDS: dict[str, tuple[Med, ...]] = {
    "dm2": (_METFORMIN,),
    "dm2_hyper": (_METFORMIN,),
    "dm2_ckd": (_METFORMIN,),
    "dm1": (_INSULIN,),
    "htn": (_LISINOPRIL, _AMLODIPINE, _HCTZ),
    "hld": (_ATORVASTATIN, _SIMVASTATIN),
    "hchol": (_ATORVASTATIN, _SIMVASTATIN),
    "cad": (_CLOPIDOGREL, _NITRO),
    "afib": (_WARFARIN, _DIGOXIN),
    "hf": (_METOPROLOL,),
    "asthma": (_ALBUTEROL, _FLUTICASONE),
    "copd": (_ADVAIR, _ALBUTEROL),
    "mdd": (_FLUOXETINE,),
    "gad": (_FLUOXETINE,),
    "hypothyroid": (_LEVOTHYROXINE,),
    "osteoporosis": (_ALENDRONATE,),
    "alzheimers": (_DONEPEZIL,),
    "anemia": (_IRON,),
    "adhd": (_METHYLPHENIDATE,),
    "rhinitis": (_FEXOFENADINE, _LORATADINE),
    "oa_knee": (_NAPROXEN,),
    "lbp": (_NAPROXEN, _IBUPROFEN),
    "migraine": (_IBUPROFEN,),
}
ACUTE_MEDS: dict[str, tuple[Med, ...]] = {
    "strep": (_AMOXICILLIN, _PENICILLIN),
    "otitis": (_AMOXICILLIN,),
    "sinusitis": (_AUGMENTIN,),
    "bronchitis": (_ACETAMINOPHEN,),
    "pneumonia": (_CEFUROXIME,),
    "uti": (_NITROFURANTOIN,),
    "ed_uti": (_NITROFURANTOIN,),
    "cellulitis": (_AUGMENTIN,),
    "ip_cellulitis": (_AUGMENTIN,),
    "uri": (_ACETAMINOPHEN,),
    "covid": (_ACETAMINOPHEN,),
    "ip_covid": (_ACETAMINOPHEN,),
    "headache": (_ACETAMINOPHEN,),
    "ankle_sprain": (_IBUPROFEN,),
    "ed_sprain": (_IBUPROFEN, _NAPROXEN),
    "hand_laceration": (_ACETAMINOPHEN,),
    "hip_fracture": (_OXYCODONE,),
    "appendicitis": (_OXYCODONE,),
    "cholelithiasis": (_OXYCODONE,),
    "mi": (_CLOPIDOGREL, _ATORVASTATIN),
    "stroke": (_CLOPIDOGREL, _ATORVASTATIN),
    "pe": (_WARFARIN,),
}

# ---------------------------------------------------------------------------------------------------
# Procedures (SNOMED CT)
# ---------------------------------------------------------------------------------------------------
PROCEDURES: dict[str, tuple[str, str]] = {
    "med_rec": ("430193006", "Medication reconciliation"),
    "depression_screen": ("171207006", "Depression screening"),
    "colonoscopy": ("73761001", "Colonoscopy"),
    "mammography": ("24623002", "Screening mammography"),
    "spirometry": ("127783003", "Spirometry"),
    "ecg": ("29303009", "Electrocardiographic procedure"),
    "chest_xray": ("399208008", "Plain chest X-ray"),
    "suture": ("288086009", "Suture open wound"),
    "appendectomy": ("80146002", "Appendectomy"),
    "pci": ("415070008", "Percutaneous coronary intervention"),
    "hip_replacement": ("52734007", "Total replacement of hip"),
    "cholecystectomy": ("38102005", "Cholecystectomy"),
    "cardioversion": ("180325003", "Electrical cardioversion"),
    "bone_density": ("312681000", "Bone density scan"),
}
DIAGNOSIS_PROCEDURES: dict[str, tuple[str, ...]] = {
    "chest_pain": ("ecg",),
    "syncope": ("ecg",),
    "hand_laceration": ("suture",),
    "pneumonia": ("chest_xray",),
    "ip_covid": ("chest_xray",),
    "copd_exac": ("chest_xray",),
    "appendicitis": ("appendectomy",),
    "mi": ("ecg", "pci"),
    "stroke": ("ecg",),
    "hip_fracture": ("hip_replacement",),
    "cholelithiasis": ("cholecystectomy",),
}

# ---------------------------------------------------------------------------------------------------
# Vaccines (CVX)
# ---------------------------------------------------------------------------------------------------
VACCINES: dict[str, tuple[str, str]] = {
    "flu": ("140", "Influenza, seasonal, injectable, preservative free"),
    "covid": (
        "208",
        "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose",
    ),
    "tdap": ("115", "Tdap"),
    "td": ("113", "Td (adult) preservative free"),
    "ppsv23": ("33", "pneumococcal polysaccharide vaccine, 23 valent"),
    "pcv13": ("133", "Pneumococcal conjugate PCV 13"),
    "zoster": ("187", "zoster vaccine recombinant"),
    "zoster_live": ("121", "zoster"),
    "hepb_ped": ("08", "Hep B, adolescent or pediatric"),
    "dtap": ("20", "DTaP"),
    "ipv": ("10", "IPV"),
    "hib": ("49", "Hib (PRP-OMP)"),
    "mmr": ("03", "MMR"),
    "varicella": ("21", "varicella"),
    "hepa_ped": ("83", "Hep A, ped/adol, 2 dose"),
    "mcv4": ("114", "meningococcal MCV4P"),
    "hpv": ("165", "HPV9"),
    "rotavirus": ("119", "rotavirus, monovalent"),
}
# Childhood schedule: (vaccine key, age in days at which it is due)
CHILD_SCHEDULE: tuple[tuple[str, int], ...] = (
    ("hepb_ped", 0),
    ("hepb_ped", 60),
    ("dtap", 60),
    ("ipv", 60),
    ("hib", 60),
    ("pcv13", 60),
    ("rotavirus", 60),
    ("dtap", 120),
    ("ipv", 120),
    ("hib", 120),
    ("pcv13", 120),
    ("rotavirus", 120),
    ("dtap", 180),
    ("hepb_ped", 180),
    ("pcv13", 180),
    ("mmr", 365),
    ("varicella", 365),
    ("hepa_ped", 365),
    ("hib", 365),
    ("dtap", 456),
    ("hepa_ped", 547),
    ("dtap", 1461),
    ("ipv", 1461),
    ("mmr", 1461),
    ("varicella", 1461),
    ("tdap", 4018),
    ("mcv4", 4018),
    ("hpv", 4018),
    ("hpv", 4200),
    ("mcv4", 5844),
)

# ---------------------------------------------------------------------------------------------------
# Allergies: (system, code, display, category, type, criticality, reaction (SNOMED code, display))
# ---------------------------------------------------------------------------------------------------
Allergy = tuple[str, str, str, str, str, str, tuple[str, str]]
_HIVES = ("247472004", "Hives")
_RASH = ("271807003", "Eruption of skin")
_ANAPH = ("39579001", "Anaphylaxis")
_RHINITIS = ("267101005", "Allergic rhinitis")
_WHEEZE = ("56018004", "Wheezing")
_NAUSEA = ("422587007", "Nausea")
ALLERGIES: tuple[Allergy, ...] = (
    (RXNORM, "7980", "penicillin G", "medication", "allergy", "high", _HIVES),
    (RXNORM, "723", "amoxicillin", "medication", "allergy", "low", _RASH),
    (RXNORM, "1191", "aspirin", "medication", "intolerance", "low", _NAUSEA),
    (RXNORM, "5640", "ibuprofen", "medication", "intolerance", "low", _NAUSEA),
    (RXNORM, "2670", "codeine", "medication", "intolerance", "low", _NAUSEA),
    (RXNORM, "7052", "morphine", "medication", "allergy", "low", _HIVES),
    (SNOMED, "91935009", "Allergy to peanuts", "food", "allergy", "high", _ANAPH),
    (SNOMED, "91934008", "Allergy to nut", "food", "allergy", "high", _ANAPH),
    (SNOMED, "300913006", "Shellfish allergy", "food", "allergy", "high", _HIVES),
    (SNOMED, "417532002", "Allergy to fish", "food", "allergy", "low", _HIVES),
    (SNOMED, "91930004", "Allergy to eggs", "food", "allergy", "low", _RASH),
    (SNOMED, "425525006", "Allergy to dairy product", "food", "intolerance", "low", _NAUSEA),
    (SNOMED, "420174000", "Allergy to wheat", "food", "allergy", "low", _RASH),
    (SNOMED, "424213003", "Allergy to bee venom", "environment", "allergy", "high", _ANAPH),
    (SNOMED, "300916003", "Latex allergy", "environment", "allergy", "high", _HIVES),
    (SNOMED, "232347008", "Dander (animal) allergy", "environment", "allergy", "low", _RHINITIS),
    (SNOMED, "232350006", "House dust mite allergy", "environment", "allergy", "low", _RHINITIS),
    (SNOMED, "418689008", "Allergy to grass pollen", "environment", "allergy", "low", _RHINITIS),
    (SNOMED, "419263009", "Allergy to tree pollen", "environment", "allergy", "low", _WHEEZE),
    (SNOMED, "419474003", "Allergy to mould", "environment", "allergy", "low", _WHEEZE),
)
NO_KNOWN_ALLERGY = ("716186003", "No known allergy")

# ---------------------------------------------------------------------------------------------------
# Encounters, shared-resource codes
# ---------------------------------------------------------------------------------------------------
ENCOUNTER_CLASS: dict[str, tuple[str, str]] = {
    "AMB": ("AMB", "ambulatory"),
    "EMER": ("EMER", "emergency"),
    "IMP": ("IMP", "inpatient encounter"),
}
ENCOUNTER_TYPES: dict[str, tuple[str, str]] = {
    "wellness": ("185349003", "Encounter for check up"),
    "followup": ("390906007", "Follow-up encounter"),
    "acute": ("185345009", "Encounter for symptom"),
    "emergency": ("50849002", "Emergency room admission"),
    "admission": ("32485007", "Hospital admission"),
    "emergency_admission": ("183452005", "Emergency hospital admission"),
}
DISPOSITIONS: dict[str, str] = {
    "home": "Home",
    "snf": "Skilled nursing facility",
    "rehab": "Rehabilitation",
    "other-hcf": "Other healthcare facility",
    "exp": "Expired",
    "aadvice": "Left against advice",
}
ADMIT_SOURCES: dict[str, str] = {
    "emd": "From accident/emergency department",
    "gp": "General Practitioner referral",
    "outp": "From outpatient department",
}
MARITAL_STATUS: dict[str, str] = {
    "S": "Never Married",
    "M": "Married",
    "D": "Divorced",
    "W": "Widowed",
    "L": "Legally Separated",
    "U": "unmarried",
}
LANGUAGES: dict[str, str] = {
    "en-US": "English (United States)",
    "es": "Spanish",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "ko": "Korean",
    "ja": "Japanese",
    "hi": "Hindi",
    "tl": "Tagalog",
    "ar": "Arabic",
    "pt": "Portuguese",
}
SPECIALTIES: tuple[tuple[str, str], ...] = (
    ("419772000", "Family practice"),
    ("419192003", "Internal medicine"),
    ("394537008", "Pediatric specialty"),
    ("394579002", "Cardiology"),
    ("394609007", "General surgery"),
    ("773568002", "Emergency medicine"),
    ("394802001", "General medicine"),
)
