"""Name, nickname and address tables for the synthetic population (all fictional combinations)."""

from __future__ import annotations

# Surname pools by origin; the origin steers given names and preferred language.
SURNAMES: dict[str, tuple[str, ...]] = {
    "general": (
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
        "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Thompson", "White", "Harris", "Clark",
        "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green",
        "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips",
        "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook",
        "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Kelly", "Howard",
        "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "James",
        "Hughes", "Price", "Sanders", "Myers", "Long", "Ross", "Foster", "Powell", "Jenkins",
        "Perry", "Russell", "Sullivan", "Fisher", "Henderson", "Coleman", "Simmons", "Patterson",
        "Jordan", "Reynolds", "Hamilton", "Graham", "Wallace", "West", "Cole", "Hayes", "Bryant",
        "Gibson", "Ellis", "Stevens", "Murray", "Ford", "Marshall", "Owens", "McDonald",
        "Harrison", "Kennedy", "Wells", "Hunt", "Black", "Schmidt", "Mueller", "Schneider",
        "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Kowalski", "Nowak", "Wisniewski",
        "O'Brien", "O'Connor", "McCarthy", "Gallagher", "Byrne", "Rossi", "Russo", "Esposito",
        "Bianchi", "Romano", "Ricci", "Ivanov", "Petrov", "Cohen", "Levy", "Friedman", "Katz",
        "Goldberg", "Andersen", "Nielsen", "Hansen", "Larsen", "Olsen", "Johansson", "Lindqvist",
        "Dubois", "Laurent", "Lefebvre", "Moreau", "Fontaine", "Washington", "Jefferson",
        "Freeman", "Banks", "Dixon", "Booker", "Okafor", "Adeyemi", "Mensah", "Kamau", "Haddad",
        "Khoury", "Nasser", "Yilmaz", "Demir", "Kaya", "Silva", "Costa", "Oliveira", "Pereira",
        "St. John", "Van der Berg", "MacLeod", "Fitzgerald", "Abernathy", "Castellano",
    ),
    "hispanic": (
        "Garcia", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Perez", "Sanchez",
        "Ramirez", "Torres", "Flores", "Rivera", "Gomez", "Diaz", "Reyes", "Morales", "Cruz",
        "Ortiz", "Gutierrez", "Chavez", "Ramos", "Ruiz", "Alvarez", "Mendoza", "Castillo",
        "Jimenez", "Vasquez", "Moreno", "Romero", "Herrera", "Medina", "Aguilar", "Vargas",
        "Castro", "Guzman", "Fernandez", "Salazar", "Soto", "Delgado", "Peña", "Núñez", "Ibáñez",
        "Muñoz", "Domínguez", "Ordóñez", "De la Rosa",
    ),
    "chinese": (
        "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun",
        "Ma", "Zhu", "Hu", "Guo", "Lin", "He", "Gao", "Luo", "Chan", "Wong", "Lee", "Cheung",
        "Lau", "Ho", "Ng",
    ),
    "vietnamese": (
        "Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu", "Dang", "Bui", "Do", "Ngo", "Duong",
    ),
    "korean": ("Kim", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Shin"),
    "japanese": (
        "Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura",
        "Kobayashi",
    ),
    "indian": (
        "Patel", "Shah", "Singh", "Kumar", "Sharma", "Gupta", "Reddy", "Rao", "Desai", "Mehta",
        "Iyer", "Nair", "Joshi", "Chaudhary",
    ),
    "filipino": (
        "Santos", "Dela Cruz", "Bautista", "Villanueva", "Ocampo", "Aquino", "Manalo", "Pascual",
    ),
}  # fmt: skip
# Share of the population by surname origin (same order as SURNAMES).
ORIGIN_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("general", 0.66),
    ("hispanic", 0.18),
    ("chinese", 0.05),
    ("vietnamese", 0.03),
    ("korean", 0.02),
    ("japanese", 0.01),
    ("indian", 0.03),
    ("filipino", 0.02),
)
# (language code, probability) spoken preferentially by people of an origin; else English.
ORIGIN_LANGUAGE: dict[str, tuple[str, float]] = {
    "hispanic": ("es", 0.35),
    "chinese": ("zh", 0.30),
    "vietnamese": ("vi", 0.30),
    "korean": ("ko", 0.25),
    "japanese": ("ja", 0.10),
    "indian": ("hi", 0.10),
    "filipino": ("tl", 0.10),
}

GIVEN_FEMALE: dict[str, tuple[str, ...]] = {
    "general": (
        "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
        "Sarah", "Karen", "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly",
        "Emily", "Donna", "Michelle", "Carol", "Amanda", "Dorothy", "Melissa", "Deborah",
        "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia", "Kathleen", "Amy", "Angela",
        "Shirley", "Anna", "Brenda", "Pamela", "Emma", "Nicole", "Helen", "Samantha", "Katherine",
        "Christine", "Debra", "Rachel", "Carolyn", "Janet", "Catherine", "Heather", "Diane",
        "Ruth", "Julie", "Olivia", "Joyce", "Virginia", "Victoria", "Kelly", "Lauren",
        "Christina", "Joan", "Evelyn", "Judith", "Megan", "Andrea", "Cheryl", "Hannah",
        "Jacqueline", "Martha", "Gloria", "Teresa", "Ann", "Sara", "Madison", "Frances",
        "Kathryn", "Janice", "Jean", "Abigail", "Alice", "Judy", "Sophia", "Grace", "Denise",
        "Amber", "Doris", "Marilyn", "Danielle", "Beverly", "Isabella", "Theresa", "Diana",
        "Natalie", "Brittany", "Charlotte", "Marie", "Kayla", "Alexis", "Lori", "Keisha", "Imani",
        "Aaliyah", "Mia", "Ava", "Harper", "Chloe", "Zoe", "Aisha", "Fatima", "Leilani",
    ),
    "hispanic": (
        "Maria", "Guadalupe", "Rosa", "Carmen", "Lucia", "Ximena", "Valentina", "Camila", "Sofia",
        "Ana", "Juana", "Veronica", "Adriana", "Gabriela", "Alejandra", "Daniela", "Yesenia",
    ),
    "chinese": ("Mei", "Lin", "Hui", "Xiu", "Ying", "Jing", "Fang", "Li Na"),
    "vietnamese": ("Ngoc", "Thuy", "Lan", "Huong", "Linh", "Trang", "Mai"),
    "korean": ("Ji-woo", "Min-ji", "Seo-yeon", "Eun-ji", "Ha-eun"),
    "japanese": ("Yuki", "Haruka", "Aiko", "Emi", "Sakura"),
    "indian": ("Priya", "Ananya", "Divya", "Lakshmi", "Pooja", "Kavya"),
    "filipino": ("Maricel", "Rowena", "Jocelyn", "Analyn", "Cristina"),
}  # fmt: skip
GIVEN_MALE: dict[str, tuple[str, ...]] = {
    "general": (
        "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
        "Christopher", "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven",
        "Paul", "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald",
        "Edward", "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan",
        "Stephen", "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory",
        "Alexander", "Frank", "Patrick", "Raymond", "Jack", "Dennis", "Jerry", "Tyler", "Aaron",
        "Adam", "Nathan", "Henry", "Douglas", "Zachary", "Peter", "Kyle", "Ethan", "Walter",
        "Noah", "Jeremy", "Christian", "Keith", "Roger", "Terry", "Gerald", "Harold", "Sean",
        "Austin", "Carl", "Arthur", "Lawrence", "Dylan", "Jesse", "Jordan", "Bryan", "Billy",
        "Bruce", "Gabriel", "Logan", "Albert", "Willie", "Alan", "Wayne", "Elijah", "Randy", "Roy",
        "Vincent", "Ralph", "Eugene", "Russell", "Philip", "Louis", "Liam", "Oliver", "Lucas",
        "DeShawn", "Malik", "Jamal", "Mohammed", "Omar", "Ahmed", "Frederick", "Francis",
    ),
    "hispanic": (
        "Jose", "Juan", "Luis", "Carlos", "Miguel", "Jesus", "Alejandro", "Diego", "Santiago",
        "Mateo", "Francisco", "Javier", "Ricardo", "Eduardo", "Fernando", "Raul", "Sergio",
    ),
    "chinese": ("Wei", "Jun", "Hao", "Ming", "Jian", "Lei", "Qiang", "Zhi Hao"),
    "vietnamese": ("Minh", "Duc", "Tuan", "Hung", "Quang", "Bao", "Khoa"),
    "korean": ("Min-jun", "Ji-ho", "Seo-jun", "Do-yun", "Hyun-woo"),
    "japanese": ("Hiroshi", "Kenji", "Takeshi", "Haruto", "Yuto"),
    "indian": ("Raj", "Arjun", "Vikram", "Rahul", "Sanjay", "Anil", "Rohan"),
    "filipino": ("Jose Maria", "Rodel", "Ramil", "Jericho", "Arnel"),
}  # fmt: skip

# Formal given name -> common nicknames (used in duplicate registrations).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"), "Robert": ("Bob", "Rob", "Bobby"),
    "Richard": ("Rick", "Rich", "Dick"), "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"), "Michael": ("Mike", "Mikey"), "Joseph": ("Joe", "Joey"),
    "Thomas": ("Tom", "Tommy"), "Charles": ("Charlie", "Chuck"), "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"), "Matthew": ("Matt",), "Anthony": ("Tony",),
    "Donald": ("Don", "Donnie"), "Steven": ("Steve",), "Stephen": ("Steve",),
    "Andrew": ("Andy", "Drew"), "Joshua": ("Josh",), "Kenneth": ("Ken", "Kenny"),
    "Timothy": ("Tim",), "Ronald": ("Ron", "Ronnie"), "Edward": ("Ed", "Eddie", "Ted"),
    "Jeffrey": ("Jeff",), "Nicholas": ("Nick",), "Jonathan": ("Jon",), "Lawrence": ("Larry",),
    "Benjamin": ("Ben",), "Samuel": ("Sam",), "Gregory": ("Greg",), "Alexander": ("Alex",),
    "Patrick": ("Pat",), "Raymond": ("Ray",), "Gerald": ("Jerry",), "Peter": ("Pete",),
    "Zachary": ("Zach",), "Douglas": ("Doug",), "Philip": ("Phil",), "Albert": ("Al",),
    "Eugene": ("Gene",), "Harold": ("Hal",), "Walter": ("Walt",), "Henry": ("Hank",),
    "Frederick": ("Fred", "Freddie"), "Francis": ("Frank",), "Jacob": ("Jake",),
    "Nathan": ("Nate",), "Vincent": ("Vince",), "Russell": ("Russ",), "Louis": ("Lou",),
    "Jose": ("Pepe",), "Francisco": ("Paco", "Pancho"), "Alejandro": ("Alex",),
    "Eduardo": ("Eddie",), "Ricardo": ("Rick",), "Jesus": ("Chuy",),
    "Elizabeth": ("Liz", "Beth", "Betty", "Lizzie"), "Margaret": ("Peggy", "Maggie", "Meg"),
    "Patricia": ("Pat", "Patty", "Trish"), "Jennifer": ("Jen", "Jenny"),
    "Katherine": ("Kate", "Kathy", "Katie"), "Catherine": ("Cathy", "Kate"),
    "Kathleen": ("Kathy",), "Kathryn": ("Kate", "Kathy"), "Rebecca": ("Becky",),
    "Deborah": ("Debbie", "Deb"), "Debra": ("Debbie",), "Susan": ("Sue", "Susie"),
    "Barbara": ("Barb",), "Pamela": ("Pam",), "Christine": ("Chris", "Tina"),
    "Christina": ("Tina",), "Samantha": ("Sam",), "Jessica": ("Jess",), "Stephanie": ("Steph",),
    "Victoria": ("Vicky", "Tori"), "Dorothy": ("Dot", "Dottie"), "Abigail": ("Abby",),
    "Cynthia": ("Cindy",), "Judith": ("Judy",), "Theresa": ("Terry",), "Teresa": ("Terry",),
    "Frances": ("Fran",), "Virginia": ("Ginny",), "Jacqueline": ("Jackie",),
    "Amanda": ("Mandy",), "Melissa": ("Missy",), "Kimberly": ("Kim",), "Sandra": ("Sandy",),
    "Beverly": ("Bev",), "Nicole": ("Nikki",), "Natalie": ("Nat",), "Olivia": ("Liv",),
    "Sophia": ("Sophie",), "Isabella": ("Bella",), "Madison": ("Maddie",),
    "Guadalupe": ("Lupe",), "Alejandra": ("Ale",), "Gabriela": ("Gaby",),
    "Veronica": ("Vero",), "Daniela": ("Dani",), "Danielle": ("Dani",), "Martha": ("Marty",),
}  # fmt: skip

# (city, state, ZIP, telephone area code). Most patients live in the hospital system's catchment area.
LOCAL_CITIES: tuple[tuple[str, str, str, str], ...] = (
    ("Boston", "MA", "02118", "617"), ("Cambridge", "MA", "02139", "617"),
    ("Somerville", "MA", "02143", "617"), ("Quincy", "MA", "02169", "617"),
    ("Newton", "MA", "02458", "617"), ("Brookline", "MA", "02445", "617"),
    ("Worcester", "MA", "01608", "508"), ("Framingham", "MA", "01702", "508"),
    ("Brockton", "MA", "02301", "508"), ("New Bedford", "MA", "02740", "508"),
    ("Fall River", "MA", "02720", "508"), ("Plymouth", "MA", "02360", "508"),
    ("Springfield", "MA", "01103", "413"), ("Pittsfield", "MA", "01201", "413"),
    ("Lowell", "MA", "01852", "978"), ("Salem", "MA", "01970", "978"),
    ("Lynn", "MA", "01901", "781"), ("Waltham", "MA", "02451", "781"),
    ("Providence", "RI", "02903", "401"), ("Nashua", "NH", "03060", "603"),
)  # fmt: skip
OTHER_CITIES: tuple[tuple[str, str, str, str], ...] = (
    ("Hartford", "CT", "06103", "860"), ("New Haven", "CT", "06510", "203"),
    ("New York", "NY", "10025", "212"), ("Brooklyn", "NY", "11201", "718"),
    ("Buffalo", "NY", "14201", "716"), ("Albany", "NY", "12207", "518"),
    ("Newark", "NJ", "07102", "973"), ("Philadelphia", "PA", "19103", "215"),
    ("Pittsburgh", "PA", "15222", "412"), ("Baltimore", "MD", "21201", "410"),
    ("Washington", "DC", "20001", "202"), ("Richmond", "VA", "23219", "804"),
    ("Raleigh", "NC", "27601", "919"), ("Charlotte", "NC", "28202", "704"),
    ("Atlanta", "GA", "30303", "404"), ("Miami", "FL", "33130", "305"),
    ("Orlando", "FL", "32801", "407"), ("Tampa", "FL", "33602", "813"),
    ("Nashville", "TN", "37203", "615"), ("Louisville", "KY", "40202", "502"),
    ("New Orleans", "LA", "70112", "504"), ("Houston", "TX", "77002", "713"),
    ("Dallas", "TX", "75201", "214"), ("San Antonio", "TX", "78205", "210"),
    ("Austin", "TX", "78701", "512"), ("Chicago", "IL", "60614", "312"),
    ("Milwaukee", "WI", "53202", "414"), ("Minneapolis", "MN", "55401", "612"),
    ("Detroit", "MI", "48226", "313"), ("Cleveland", "OH", "44113", "216"),
    ("Columbus", "OH", "43215", "614"), ("Indianapolis", "IN", "46204", "317"),
    ("St. Louis", "MO", "63101", "314"), ("Denver", "CO", "80202", "303"),
    ("Phoenix", "AZ", "85004", "602"), ("Albuquerque", "NM", "87102", "505"),
    ("Las Vegas", "NV", "89101", "702"), ("Los Angeles", "CA", "90012", "213"),
    ("San Diego", "CA", "92101", "619"), ("San Francisco", "CA", "94103", "415"),
    ("Sacramento", "CA", "95814", "916"), ("Portland", "OR", "97204", "503"),
    ("Seattle", "WA", "98101", "206"), ("Salt Lake City", "UT", "84101", "801"),
    ("Honolulu", "HI", "96813", "808"), ("Portland", "ME", "04101", "207"),
    ("Burlington", "VT", "05401", "802"), ("San Juan", "PR", "00901", "787"),
)  # fmt: skip

STREET_NAMES: tuple[str, ...] = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Walnut", "Church", "Spring", "High", "Center", "School", "North", "South", "Union",
    "Prospect", "Chestnut", "Highland", "Pleasant", "Broadway", "Water", "Mill", "River",
    "Summer", "Winter", "Franklin", "Jefferson", "Lincoln", "Madison", "Adams", "Jackson",
    "Cherry", "Willow", "Birch", "Hickory", "Sunset", "Meadow", "Forest", "Ridge", "Valley",
    "Harbor", "Beacon", "Commonwealth", "Tremont", "Bay", "Sycamore", "Magnolia", "Dogwood",
    "Lexington", "Concord", "Salem", "Central", "Front", "King", "Bridge", "Orchard",
)  # fmt: skip
# (full suffix, USPS abbreviation)
STREET_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Lane", "Ln"), ("Drive", "Dr"),
    ("Court", "Ct"), ("Place", "Pl"), ("Way", "Way"), ("Boulevard", "Blvd"), ("Terrace", "Ter"),
)  # fmt: skip

EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net", "mail.example.com")

# Organization name parts.
HOSPITAL_SUFFIXES: tuple[str, ...] = (
    "General Hospital", "Medical Center", "Community Hospital", "Regional Medical Center",
    "Memorial Hospital",
)  # fmt: skip
CLINIC_SUFFIXES: tuple[str, ...] = (
    "Family Medicine", "Primary Care", "Internal Medicine Associates", "Health Center",
    "Pediatrics", "Community Health Center",
)  # fmt: skip
