"""Medicine names the intake recognises, so patients can type a name rather than know its class.

Benzodiazepine doses are converted to diazepam-equivalent mg/day, the unit of the blunting rule (rules.py), with the
approximate equivalents to diazepam 10 mg from the Ashton Manual (Ashton CH, "Benzodiazepines: How They Work and
How to Withdraw", 2002, table 1). They are approximate: the finding asks a clinician to confirm.
"""

from __future__ import annotations

from decimal import Decimal

DIAZEPAM_10MG_EQUIVALENT_MG: dict[str, Decimal] = {
    "alprazolam": Decimal("0.5"),
    "chlordiazepoxide": Decimal("25"),
    "clobazam": Decimal("20"),
    "clonazepam": Decimal("0.5"),
    "clorazepate": Decimal("15"),
    "diazepam": Decimal("10"),
    "lorazepam": Decimal("1"),
    "oxazepam": Decimal("20"),
    "temazepam": Decimal("20"),
    "triazolam": Decimal("0.5"),
}
BRAND_NAMES = {
    "xanax": "alprazolam", "klonopin": "clonazepam", "valium": "diazepam", "ativan": "lorazepam",
    "restoril": "temazepam", "librium": "chlordiazepoxide", "halcion": "triazolam", "onfi": "clobazam",
    "tranxene": "clorazepate",
}  # fmt: skip

# Generic names (lower case) -> medication class code of rules.MEDICATION_CLASSES.
CLASS_BY_NAME: dict[str, str] = {
    **{name: "benzodiazepine" for name in DIAZEPAM_10MG_EQUIVALENT_MG},
    **{name: "opioid" for name in ("oxycodone", "hydrocodone", "morphine", "tramadol", "buprenorphine",
                                   "methadone", "codeine", "fentanyl", "hydromorphone", "tapentadol")},
    **{name: "cns_depressant" for name in ("zolpidem", "zopiclone", "eszopiclone", "zaleplon", "gabapentin",
                                           "pregabalin", "hydroxyzine", "diphenhydramine", "promethazine")},
    **{name: "stimulant" for name in ("amphetamine", "dextroamphetamine", "lisdexamfetamine", "methylphenidate",
                                      "dexmethylphenidate", "modafinil", "armodafinil")},
    **{name: "maoi" for name in ("tranylcypromine", "phenelzine", "selegiline", "isocarboxazid")},
    "lamotrigine": "lamotrigine",
    "theophylline": "theophylline",
    "aminophylline": "theophylline",
    **{name: "thyroid_hormone" for name in ("levothyroxine", "liothyronine", "armour thyroid")},
    **{name: "nasal_steroid_decongestant" for name in ("fluticasone", "mometasone", "budesonide nasal",
                                                       "oxymetazoline", "pseudoephedrine", "phenylephrine")},
    **{name: "strong_cyp3a4_2b6_modifier" for name in ("clarithromycin", "ketoconazole", "itraconazole",
                                                       "ticlopidine", "rifampin", "carbamazepine")},
}  # fmt: skip
BRAND_NAMES.update({
    "adderall": "amphetamine", "vyvanse": "lisdexamfetamine", "ritalin": "methylphenidate", "concerta":
    "methylphenidate", "provigil": "modafinil", "nuvigil": "armodafinil", "ambien": "zolpidem", "lunesta":
    "eszopiclone", "neurontin": "gabapentin", "lyrica": "pregabalin", "lamictal": "lamotrigine", "synthroid":
    "levothyroxine", "emsam": "selegiline", "parnate": "tranylcypromine", "nardil": "phenelzine", "flonase":
    "fluticasone", "nasonex": "mometasone", "afrin": "oxymetazoline", "sudafed": "pseudoephedrine",
})  # fmt: skip


def generic_name(name: str) -> str:
    words = name.strip().lower()
    if words in BRAND_NAMES:
        return BRAND_NAMES[words]
    first = words.split(" ")[0] if words else ""
    return BRAND_NAMES.get(first, first if first in CLASS_BY_NAME else words)


def medication_class(name: str, chosen: str = "") -> str:
    """The class the patient chose, else the one their medicine's name tells us, else ''."""
    return chosen or CLASS_BY_NAME.get(generic_name(name), "")


def diazepam_equivalent_mg_per_day(
    name: str, dose_mg: Decimal | None, times_per_day: Decimal | None
) -> Decimal | None:
    """None when the drug or the dose is unknown: the rule then asks a clinician to confirm."""
    per_10mg = DIAZEPAM_10MG_EQUIVALENT_MG.get(generic_name(name))
    if per_10mg is None or dose_mg is None:
        return None
    daily = dose_mg * (times_per_day if times_per_day is not None else Decimal(1))
    return (daily * Decimal(10) / per_10mg).quantize(Decimal("0.1"))


# The SPRAVATO REMS Patient Monitoring Form asks about these concomitant medicines, in its order (clinical
# reference 3.3a: the 2021 and 2024 copies list MAOIs; the manufacturer's overview video adds opioids).
REMS_CONCOMITANT = {
    "benzodiazepine": "Benzodiazepines",
    "cns_depressant": "Sedative-hypnotics and other CNS depressants",
    "stimulant": "Psychostimulants",
    "maoi": "Monoamine oxidase inhibitors (MAOIs)",
    "opioid": "Opioids",
}


def rems_concomitant(answers: dict) -> dict[str, list[str]]:
    """The patient's listed medicines in each REMS category (category label -> medicine names)."""
    found: dict[str, list[str]] = {label: [] for label in REMS_CONCOMITANT.values()}
    for row in (answers.get("medications") or {}).get("items", []):
        code = medication_class(row.get("name", ""), row.get("medication_class", ""))
        if code in REMS_CONCOMITANT:
            found[REMS_CONCOMITANT[code]].append(row["name"])
    return found
