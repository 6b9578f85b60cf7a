"""Turning diagnosis text into comparable tokens: case, accents, plurals, abbreviations.

Clinicians write "DM2", "CHF", "HTN"; the index and tabular list spell them out. The table below
is curated (the abbreviations of the demo population's shorthand and of common problem lists),
each expansion written in the words the Alphabetic Index uses, so the expansion then matches
index terms rather than tabular prose.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

#: abbreviation (lower case, as one token or a short phrase) → expansion in index words
ABBREVIATIONS: dict[str, str] = {
    "dm": "diabetes mellitus",
    "dm1": "diabetes mellitus type 1",
    "dm 1": "diabetes mellitus type 1",
    "dm i": "diabetes mellitus type 1",
    "t1dm": "diabetes mellitus type 1",
    "iddm": "diabetes mellitus type 1",
    "dm2": "diabetes mellitus type 2",
    "dm 2": "diabetes mellitus type 2",
    "dm ii": "diabetes mellitus type 2",
    "t2dm": "diabetes mellitus type 2",
    "niddm": "diabetes mellitus type 2",
    "dka": "diabetic ketoacidosis",
    "chf": "congestive heart failure",
    "hf": "heart failure",
    "hfref": "systolic heart failure",
    "hfpef": "diastolic heart failure",
    "htn": "hypertension",
    "copd": "chronic obstructive pulmonary disease",
    "aecopd": "chronic obstructive pulmonary disease acute exacerbation",
    "cad": "coronary artery disease",
    "ashd": "atherosclerotic heart disease",
    "afib": "atrial fibrillation",
    "a fib": "atrial fibrillation",
    "af": "atrial fibrillation",
    "aflutter": "atrial flutter",
    "hld": "hyperlipidemia",
    "uti": "urinary tract infection",
    "uri": "upper respiratory infection",
    "mi": "myocardial infarction",
    "ami": "acute myocardial infarction",
    "nstemi": "non st elevation myocardial infarction",
    "stemi": "st elevation myocardial infarction",
    "cva": "cerebrovascular accident",
    "tia": "transient ischemic attack",
    "pe": "pulmonary embolism",
    "dvt": "deep vein thrombosis",
    "cp": "chest pain",
    "abd": "abdominal",
    "osa": "obstructive sleep apnea",
    "lbp": "low back pain",
    "bph": "benign prostatic hyperplasia",
    "gerd": "gastro esophageal reflux disease",
    "mdd": "major depressive disorder",
    "gad": "generalized anxiety disorder",
    "ptsd": "post traumatic stress disorder",
    "adhd": "attention deficit hyperactivity disorder",
    "ckd": "chronic kidney disease",
    "esrd": "end stage renal disease",
    "aki": "acute kidney injury",
    "arf": "acute renal failure",
    "ra": "rheumatoid arthritis",
    "oa": "osteoarthritis",
    "djd": "degenerative joint disease",
    "sle": "systemic lupus erythematosus",
    "ms": "multiple sclerosis",
    "als": "amyotrophic lateral sclerosis",
    "hiv": "human immunodeficiency virus disease",
    "aids": "acquired immunodeficiency syndrome",
    "tb": "tuberculosis",
    "pna": "pneumonia",
    "cap": "pneumonia",
    # where a pneumonia was caught does not change its code (J18.9 unless the organism is said);
    # left in, "community" was read by its root as "communicating" (hydrocephalus)
    "community acquired": "",
    "sob": "shortness of breath",
    "doe": "dyspnea on exertion",
    "ards": "acute respiratory distress syndrome",
    "ibs": "irritable bowel syndrome",
    "ibd": "inflammatory bowel disease",
    "gib": "gastrointestinal hemorrhage",
    "ugib": "upper gastrointestinal hemorrhage",
    "lgib": "lower gastrointestinal hemorrhage",
    "svt": "supraventricular tachycardia",
    "vtach": "ventricular tachycardia",
    "pvd": "peripheral vascular disease",
    "pad": "peripheral arterial disease",
    "aaa": "abdominal aortic aneurysm",
    "ich": "intracerebral hemorrhage",
    "sah": "subarachnoid hemorrhage",
    "ams": "altered mental status",
    "loc": "loss of consciousness",
    "etoh": "alcohol",
    "n/v": "nausea vomiting",
    "hypothyroid": "hypothyroidism",
    "hyperthyroid": "hyperthyroidism",
    "bmi": "body mass index",
    "fx": "fracture",
    "lac": "laceration",
    "rt": "right",
    "lt": "left",
    "r": "right",
    "l": "left",
    "bilat": "bilateral",
    "b/l": "bilateral",
    "w/": "with",
    "w/o": "without",
    "hx": "history",
    "fhx": "family history",
    "mets": "metastatic",
    "h/o": "history",
    "s/p": "status post",
    "cabg": "aortocoronary bypass",
    "gi": "gastrointestinal",
    "cancer": "malignant neoplasm",
    "sz": "seizure",
    "ha": "headache",
    "ugi": "upper gastrointestinal",
    "covid": "covid 19",
    "covid19": "covid 19",
    "strep": "streptococcal",
    "mrsa": "methicillin resistant staphylococcus aureus",
    "ptx": "pneumothorax",
    "sbo": "small bowel obstruction",
    "lft": "liver function",
    "hcc": "hepatocellular carcinoma",
    "nash": "nonalcoholic steatohepatitis",
    "nafld": "nonalcoholic fatty liver disease",
    "ocd": "obsessive compulsive disorder",
    "asd": "autism spectrum disorder",
    "bpd": "borderline personality disorder",
    "uncontrolled": "hyperglycemia",
}

#: Words that carry no meaning for code choice (kept out of both queries and documents).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "due",
        "than",
        "its",
        "his",
        "her",
        "patient",
        "pt",
        "diagnosis",
        "dx",
        "of",
        "presenting",
        "presents",
        "complains",
        "c/o",
    ]
)
#: Words that may appear in a code's description without the text having to say them
#: ("accidental (unintentional)" is the intent a poisoning has when none is documented).
SOFT_WORDS = frozenset(
    [
        "unspecified",
        "nos",
        "type",
        "site",
        "classified",
        "elsewhere",
        "not",
        "otherwise",
        "accidental",
        "unintentional",
    ]
)

_SPLIT = re.compile(r"[^a-z0-9/]+")
_CLAUSE = re.compile(r"[,;:()\[\]]")
#: Stands for clause punctuation between raw tokens.
BOUNDARY = ","
#: Prefix of a word the text says is absent ("without hemorrhage" → ``~hemorrhage``).
NEGATION = "~"
_NEGATORS = frozenset({"without", "not", "no", "except"})
_NEGATE_ONE = frozenset({"non"})
_END_NEGATION = frozenset({"with", "but", "due"})
#: What "without" can deny that is no condition: "without diagnosis" (the index's "Findings,
#: abnormal, inconclusive, without diagnosis") says no diagnosis was made, and denies nothing
#: that follows it.
_NEGATES_NOTHING = frozenset({"diagnosis", "dx"})
_SLASH_ABBR = re.compile(r"\b(?:n/v|w/o|w/|b/l|h/o|c/o|s/p)")
_IRREGULAR = {
    "diabetic": "diabetes",
    "fractured": "fracture",
    "fractures": "fracture",
    "pains": "pain",
    "feet": "foot",
    "teeth": "tooth",
    "renal": "kidney",
    "cardiac": "heart",
    "pulmonary": "lung",
    "hepatic": "liver",
    "gastric": "stomach",
    "cerebral": "brain",
    "ocular": "eye",
    "femoral": "femur",
    "urinary": "urine",
    "sacral": "sacrum",
}


#: Roman numerals as the tabular list writes them ("class II", "type I") and clinicians as digits.
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9"}


def fold(text: str) -> str:
    """Lower case, accents removed, apostrophes dropped (Alzheimer's → alzheimers)."""
    if text.isascii():
        return text.lower().replace("'", "")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.lower().replace("'", "").replace("\u2019", "")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light stem: enough to meet plural and adjective forms, never so much that codes blur."""
    word = _IRREGULAR.get(word, word)
    if word in _ROMAN:
        return _ROMAN[word]
    if len(word) > 7 and word.endswith("ing") and word[-4] not in "aeiou":
        return word[:-3]  # consulting → consult, bleeding → bleed (both sides alike)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ous", "sis")):
        return word[:-1]
    return word


def raw_tokens(text: str) -> list[str]:
    """Folded words, slash abbreviations (n/v, w/o) kept whole, other slashes split.

    Clause punctuation (comma, semicolon, colon, brackets) becomes ``BOUNDARY``: it ends the
    reach of a negation ("without hemorrhage, with perforation").
    """
    return _folded_tokens(fold(text))


def _folded_tokens(folded: str) -> list[str]:
    """``raw_tokens`` of text already folded."""
    out: list[str] = []
    for n, clause in enumerate(_CLAUSE.split(folded)):
        if n and out and out[-1] != BOUNDARY:
            out.append(BOUNDARY)
        for piece in _SPLIT.split(clause):
            if not piece:
                continue
            if "/" in piece and not _SLASH_ABBR.fullmatch(piece):
                out.extend(p for p in piece.split("/") if p)
            else:
                out.append(piece)
    return out


def _tokens(words: list[str], negations: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Stemmed words without stop words; words a negation reaches are marked ``~``.

    "Nausea without vomiting" is ``nausea ~vomiting`` and "Vomiting without nausea" is
    ``vomiting ~nausea``: the two share no word. "without", "not", "no" and "except" reach to the
    end of the clause (or "with"); "non" reaches one word ("non-pressure ulcer"). Soft words are
    never negated, so "not elsewhere classified" stays as it was.

    negations: what the code set itself says after a negator (``negated_phrases``). A negation
    whose clause goes on past such a phrase ends with it ("without open wound, hip" written
    without its comma: the hip is the site, not a wound's), unless a stop word carries the phrase
    on ("without vomiting or diarrhea", "without mention of back pain").
    """
    out: list[str] = []
    reach = 0  # words still negated; -1: to the end of the clause
    until = len(words)  # where a negation reaching to the end of its clause stops early
    for i, word in enumerate(words):
        if i == until:
            reach, until = 0, len(words)
        if word == BOUNDARY or word in _END_NEGATION:
            reach = 0
            continue
        if word in _NEGATORS or word in _NEGATE_ONE:
            following = words[i + 1] if i + 1 < len(words) else BOUNDARY
            if following in _NEGATES_NOTHING:
                continue
            if following != BOUNDARY and following not in SOFT_WORDS and following not in _END_NEGATION:
                reach = 1 if word in _NEGATE_ONE else -1
                if reach < 0 and negations:
                    until = _known_negation_end(words, i + 1, negations)
                continue
        if word in STOPWORDS:
            continue
        token = stem(word)
        if reach and token not in SOFT_WORDS:
            out.append(NEGATION + token)
            if reach > 0:
                reach -= 1
        else:
            out.append(token)
    return tuple(out)


def _clause_words(words: list[str], start: int) -> list[tuple[int, str]]:
    """The stemmed content words from ``start`` to the end of the clause, with their positions."""
    out: list[tuple[int, str]] = []
    for j in range(start, len(words)):
        word = words[j]
        if word == BOUNDARY or word in _END_NEGATION:
            break
        if word not in STOPWORDS:
            out.append((j, stem(word)))
    return out


def _known_negation_end(words: list[str], start: int, negations: frozenset[str]) -> int:
    """Where the negation of the words from ``start`` ends: after the longest phrase the code set
    negates that the clause begins with, when the next word is another content word ("open
    wound" in "without open wound hip"); else the clause's end (``len``): "without vomiting or
    diarrhea" and "without mention of back pain" go on."""
    clause = _clause_words(words, start)
    said = [w for _j, w in clause]
    if " ".join(said) in negations:
        return len(words)
    for k in range(len(said) - 1, 0, -1):
        if " ".join(said[:k]) not in negations:
            continue
        end = clause[k - 1][0] + 1
        # only a word that cannot continue the phrase ends it: not "or", "and" or "of"
        return len(words) if words[end] in STOPWORDS else end
    return len(words)


def negated_phrases(texts: Iterable[str]) -> frozenset[str]:
    """What the texts say after a negator, to the end of its clause, as stemmed content words
    joined by spaces ("without open wound" → "open wound"): the things the code set denies."""
    out: set[str] = set()
    for text in texts:
        words = _folded_tokens(fold(text))
        for i, word in enumerate(words):
            if word in _NEGATORS:
                said = " ".join(w for _j, w in _clause_words(words, i + 1))
                if said:
                    out.add(said)
    return frozenset(out)


def expand(words: list[str]) -> list[str]:
    """Replace abbreviations (two-word ones first: "dm ii") by their expansions."""
    out: list[str] = []
    i = 0
    while i < len(words):
        pair = f"{words[i]} {words[i + 1]}" if i + 1 < len(words) else ""
        if pair in ABBREVIATIONS:
            out.extend(ABBREVIATIONS[pair].split())
            i += 2
            continue
        out.extend(ABBREVIATIONS.get(words[i], words[i]).split())
        i += 1
    return out


@lru_cache(maxsize=300_000)
def _document_tokens(text: str) -> tuple[str, ...]:
    return _tokens(raw_tokens(text))


def document_tokens(text: str) -> list[str]:
    """Tokens of index and tabular text (no abbreviation expansion: the code set spells out)."""
    return list(_document_tokens(text))


#: A short marker name written with a status sign, as clinicians write receptor and test
#: results: "ER+", "HER2-", "Rh-", "HBsAg+" (the tabular list says "[ER+]" in words: "Estrogen
#: receptor positive status"). A sign after a number or inside a word ("X-linked") is left alone.
_STATUS_SIGN = re.compile(r"\b([a-z][a-z0-9]{0,6})([+-])(?=$|[\s,;:/)\]])")


def _status_signs(text: str) -> str:
    """ "her2+" → "her2 positive", "er-" → "er negative"."""
    return _STATUS_SIGN.sub(lambda m: f"{m[1]} {'positive' if m[2] == '+' else 'negative'}", text)


#: An adult's body mass index as clinicians write it ("BMI 42", "BMI of 31.5", "BMI: 38"); not a
#: child's percentile ("BMI 90th percentile").
_BMI_VALUE = re.compile(
    r"\b(bmi|body mass index)\s*(?:of|is|was|=|:)?\s*(\d{1,3}(?:\.\d+)?)(?!\d|\.\d|\s*(?:%|th\b|percentile))"
)


def bmi_range(value: float) -> str | None:
    """The range of Z68 (body mass index, adult) that holds ``value``, as the tabular list
    writes it ("40.0-44.9"): the text's number is not a word of any description."""
    if not 10 <= value < 150:
        return None
    if value < 20:
        return "19.9 or less"
    if value < 40:
        whole = int(value)
        return f"{whole}.0-{whole}.9"
    for low, high in ((40, 44.9), (45, 49.9), (50, 59.9), (60, 69.9)):
        if value <= high + 0.05:
            return f"{low}.0-{high}"
    return "70 or greater"


def _bmi_values(text: str) -> str:
    """ "bmi 42" → "bmi 40.0-44.9 adult" (Z68.41's words); other numbers are left alone."""

    def said(m: re.Match[str]) -> str:
        found = bmi_range(float(m[2]))
        return m[0] if found is None else f"{m[1]} {found} adult"

    return _BMI_VALUE.sub(said, text)


#: Vitamins clinicians name by their letter alone ("B12 deficiency"); the code set always says
#: "vitamin".
_VITAMIN_LETTERS = frozenset({"b1", "b2", "b3", "b6", "b9", "b12"})
#: Words that say whose history a "history of" is.
_WHOSE_HISTORY = frozenset({"personal", "family", "familial"})
#: What clinicians call a secondary neoplasm; the code set says "secondary" (C77-C79).
_METASTATIC = frozenset({"metastatic", "metastasis", "metastases", "metastasized", "metastasised"})
_SECONDARY_NEOPLASM = ("secondary", "malignant", "neoplasm")


def implied_words(words: list[str]) -> list[str]:
    """Words a coder reads into the text though it does not write them.

    "History of DVT" is the patient's own history: the index's main term is "History
    (personal) (of)" and a family history is always said as one, so "history" without "family"
    or "personal" reads "personal history" (Z86.718, not the thrombosis itself). "B12" alone is
    vitamin B12. A metastasis is a secondary malignant neoplasm, the code set's words for it
    ("lung mets": C78.00).
    """
    said = set(words)
    out: list[str] = []
    for word in words:
        if word == "history" and not said & _WHOSE_HISTORY:
            out.append("personal")
        elif word in _VITAMIN_LETTERS and "vitamin" not in said:
            out.append("vitamin")
        elif word in _METASTATIC:
            out.extend(w for w in _SECONDARY_NEOPLASM if w not in said)
        out.append(word)
    return out


def query_tokens(text: str, negations: frozenset[str] = frozenset()) -> list[str]:
    """Tokens of what a user typed: status signs said in words ("ER-" → "ER negative"), an
    adult BMI as its range, abbreviations expanded, words a coder reads in added
    (``implied_words``), then as documents are tokenized, a negation ending with what the code
    set negates (``negations``, see ``_tokens``)."""
    words = expand(_folded_tokens(_bmi_values(_status_signs(fold(text)))))
    return list(_tokens(implied_words(words), negations))
