"""Small HL7 v2 messages for tests: each one exercises a mapping rule with known values."""

from __future__ import annotations


def _fields(name: str, values: dict[int, str]) -> list[str]:
    """A segment's fields by HL7 position, so that tests never miscount pipes."""
    return [name] + [values.get(n, "") for n in range(1, max(values) + 1)]


ORU = (
    "MSH|^~\\&|LAB|GH^2.16.840.1.113883.19.4.6^ISO|EHR|GH|20240301101500-0500||ORU^R01^ORU_R01|{cid}|P|2.5.1\r"
    "PID|1||MRN-{mrn}^^^GH&2.16.840.1.113883.19.4.6&ISO^MR~999-00-1111^^^SSA^SS||Doe^Jane^Q||19700214|F|||"
    "12 Main St^^Springfield^IL^62701^USA^H||^PRN^PH^^1^217^5550100|||M^Married^HL70002\r"
    "ORC|RE|PL-{cid}^EHR|FL-{cid}^LAB\r"
    "OBR|1|PL-{cid}^EHR|FL-{cid}^LAB|24331-1^Lipid panel^LN|||20240301083000-0500|||||||||"
    "1234^Welby^Marcus^^^Dr^^^NPI&2.16.840.1.113883.4.6&ISO||||||20240301101000-0500|||F\r"
    "OBX|1|NM|2093-3^Cholesterol [Mass/volume] in Serum or Plasma^LN||{value}|mg/dL^mg/dL^UCUM|125-200|H|||F|||"
    "20240301090000-0500||5678^Quincy^Ann^^^^^^NPI&2.16.840.1.113883.4.6&ISO\r"
    "NTE|1|L|Fasting specimen\r"
    "OBX|2|ST|8251-1^Comment^LN||hemolyzed \\T\\ lipemic||||||F\r"
    "OBX|3|CWE|5778-6^Color of Urine^LN||YEL^Yellow^L||||||F\r"
    "OBX|4|SN|5048-4^ANA titer^LN||^1^:^80||||||F\r"
    "OBX|5|SN|2339-0^Glucose^LN||<^5|mmol/L^^UCUM|||||F\r"
    "OBX|6|DT|21112-8^Birth date^LN||19700214||||||F\r"
    "OBX|7|TX|18748-4^Imaging report^LN||line one~line two||||||F\r"
    "ZPI|custom|kept\r"
)

ADT = (
    "MSH|^~\\&|ADT|GH|EHR|GH|{when}||ADT^{trigger}^ADT_{trigger}|{cid}|P|2.4\r"
    "EVN|{trigger}|{when}\r"
    "PID|1||MRN-7^^^GH^MR||{family}^Pat||19800101|M|||1 Elm^^Town^CA^90000||555-0101|||S\r"
    + "|".join(
        _fields(
            "PV1",
            {
                1: "1",
                2: "I",
                3: "W1^101^A^GH",
                7: "1111^Attend^Ann^^^Dr",
                10: "MED",
                19: "V-7^^^GH^VN",
                36: "01",
                44: "20240101080000+0000",
                45: "{discharge}",
            },
        )
    )
    + "\r"
)

MDM = (
    "MSH|^~\\&|DOC|GH|EHR|GH|20240301101500+0000||MDM^T02^MDM_T02|{cid}|P|2.6\r"
    "EVN|T02|20240301101500+0000\r"
    "PID|1||MRN-8^^^GH^MR||Note^Pat||19600101|F\r"
    + "|".join(
        _fields(
            "TXA",
            {
                1: "1",
                2: "DS^Discharge summary",
                3: "TX",
                4: "20240301100000+0000",
                9: "7^Author^Al",
                12: "DOC-77",
                17: "LA",
                19: "AV",
                22: "9^Signer^Sue",
            },
        )
    )
    + "\r"
    "OBX|1|TX|11490-0^Discharge summary^LN||Patient discharged in good condition.||||||F\r"
    "OBX|2|TX|11490-0^Discharge summary^LN||Follow up in 2 weeks.||||||F\r"
)

VXU = (
    "MSH|^~\\&|IIS|GH|EHR|GH|20240301101500+0000||VXU^V04^VXU_V04|{cid}|P|2.5.1\r"
    "PID|1||MRN-9^^^GH^MR||Shot^Kid||20200101|M\r"
    "ORC|RE||IZ-1^GH\r"
    "RXA|0|1|20240215|20240215|08^HepB, adolescent or pediatric^CVX|0.5|mL^mL^UCUM||00^New^NIP001|"
    "55^Nurse^Nina|||||LOT-1|20250101|MSD^Merck^MVX|||CP|A\r"
    "RXR|C28161^Intramuscular^NCIT|LT^Left Thigh^HL70163\r"
)


def oru(cid: str = "C1", mrn: str = "1", value: str = "250") -> str:
    return ORU.format(cid=cid, mrn=mrn, value=value)


def adt(trigger: str = "A01", cid: str = "A1", when: str = "20240101080000+0000", **kw: str) -> str:
    return ADT.format(
        trigger=trigger,
        cid=cid,
        when=when,
        family=kw.get("family", "Adams"),
        discharge=kw.get("discharge", ""),
    )
