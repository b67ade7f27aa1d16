"""Questions a doctor or a client would ask about the sample documents, each with a distinctive
substring of the passage that answers it. Written from the reader's side, in their words, not
copied from the passages; used by test_retrieval_quality."""

from __future__ import annotations

VELMORA_LABEL = "velmora-label.md"
HARBOURLINE_FACTSHEET = "harbourline-factsheet.md"

PHARMA_QUESTIONS: list[tuple[str, str]] = [
    ("Can my patient stay on it if she finds out she's pregnant?", "When pregnancy is detected"),
    ("Is it harmful to an unborn baby?", "injury and death to the developing fetus"),
    ("What condition is this drug approved to treat?", "treatment of hypertension in adults"),
    (
        "Does bringing pressure down with it reduce strokes and heart attacks?",
        "primarily strokes and myocardial infarctions",
    ),
    ("Can I prescribe it to a 16-year-old?", "not approved for use in patients under 18"),
    ("Does it help prevent migraines?", "migraine prophylaxis"),
    ("Is it an option for my patients with heart failure?", "heart failure and chronic kidney"),
    ("What class of medicine is velmoratan?", "angiotensin II receptor blocker"),
    ("What dose should a new patient start on?", "recommended starting dose is 40 mg"),
    ("When can I titrate up if the pressure is still high?", "after two weeks"),
    ("What is the highest dose I can give?", "Maximum dose: 80 mg"),
    ("How many milligrams per day at most?", "Maximum dose: 80 mg"),
    ("By how much did it lower systolic pressure in the trials?", "systolic blood pressure by 11"),
    ("How many patients were enrolled in the studies?", "1,842 adults"),
    ("How long did the clinical trials run?", "two 12-week, randomised"),
    ("Does it work as well in Black patients?", "the effect in that subgroup was smaller"),
    ("Can I combine it with aliskiren in someone with diabetes?", "aliskiren in patients"),
    ("What if the patient is allergic to velmoratan?", "known hypersensitivity to velmoratan"),
    ("Do I need to keep an eye on potassium levels?", "monitor serum potassium"),
    (
        "Anything to watch for in patients who are dehydrated or on a low-salt diet?",
        "volume- or salt-depleted",
    ),
    ("Can it damage the kidneys?", "acute renal failure"),
    ("What are the most common side effects?", "most common adverse reactions"),
    ("How often do patients get dizzy on it?", "dizziness (3.6%"),
    ("Will it make my patients feel tired?", "fatigue (4.1%"),
    ("How many people stopped taking it because of side effects?", "Discontinuation"),
    ("Is Velmora an actual medicine I can prescribe?", "fictional medicine"),
]

FACTSHEET_QUESTIONS: list[tuple[str, str]] = [
    ("What is the fund trying to achieve for me?", "aims to grow capital"),
    ("How long should I expect to keep my money in it?", "at least five years"),
    ("Does it put money into developing countries?", "up to 20% in emerging markets"),
    ("What kind of companies does it buy?", "shares of companies listed worldwide"),
    ("Could I lose some of the money I put in?", "get back less than they invested"),
    ("How risky is it on a scale of one to seven?", "synthetic risk indicator is 6"),
    ("Will changes in exchange rates affect what I earn?", "Currency movements"),
    ("How did the fund do in 2022?", "| 2022 | -11.8% | -9.7% |"),
    ("Did it beat its benchmark last year?", "| 2025 | 6.1% | 7.0% |"),
    ("Do its past returns tell me what I will make in future?", "not a reliable indicator"),
    ("What are the yearly fees?", "Ongoing charges 0.85%"),
    ("Do I pay anything to buy in or cash out?", "No entry or exit charge"),
    ("Is this factsheet giving me investment advice?", "not investment advice"),
]
