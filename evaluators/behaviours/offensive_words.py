"""Word lists for the `disrespect` detector: insults, profanity and slurs.

Kept apart from the detector so they can be reviewed (and extended per market) on their own.
Entries are regular-expression fragments matched as whole words, case-insensitively; `*`-like
endings are written out (`fuck\\w*`). The slur list is deliberately limited to terms that are
slurs in every use; words that are slurs only in some uses are left to the insult rules, which
need the word aimed at someone.
"""

from __future__ import annotations

# Nouns that insult a person: "you idiot", "what a moron", "he's a loser".
INSULT_NOUNS = (
    r"idiot\w*", r"moron\w*", r"imbecile\w*", r"cretin\w*", r"dimwit\w*", r"halfwit\w*",
    r"nitwit\w*", r"dumbass\w*", r"dumb-ass\w*", r"jackass\w*", r"asshole\w*", r"arsehole\w*",
    r"bastard\w*", r"bitch\w*", r"prick\w*", r"dickhead\w*", r"douche\w*", r"twat\w*",
    r"wanker\w*", r"tosser\w*", r"pillock\w*", r"numpty", r"numpties", r"loser\w*",
    r"scumbag\w*", r"scum", r"lowlife\w*", r"dipshit\w*", r"shithead\w*", r"knobhead\w*",
    r"buffoon\w*", r"simpleton\w*", r"dunce\w*", r"ignoramus",
    r"jerkoff\w*", r"slut\w*", r"whore\w*", r"hoes?", r"skank\w*", r"thots?", r"cunt\w*",
    r"pussy", r"pussies", r"white\s+trash", r"rednecks?",
)

# Words that insult only when aimed at someone ("you pig", "what a clown"), being ordinary
# words elsewhere ("guinea pig", "animal studies", "a fool's errand").
AIMED_NOUNS = (
    r"jerks?", r"creeps?", r"freaks?", r"pigs?", r"dicks?", r"ass", r"arse", r"trash",
    r"garbage", r"parasites?", r"vermin", r"animals?", r"savages?", r"fools?", r"clowns?",
    r"snowflakes?", r"nut\s*jobs?", r"nutcases?", r"weirdos?", r"babies", r"baby",
    r"pests?", r"nuisances?", r"dinosaurs?", r"amateurs?", r"hicks?", r"ho",
)

# Adjectives that insult when aimed at a person or at what they said.
INSULT_ADJECTIVES = (
    r"stupid", r"dumb", r"idiotic", r"moronic", r"brainless", r"clueless", r"ignorant",
    r"pathetic", r"useless", r"worthless", r"incompetent", r"hopeless", r"ridiculous",
    r"absurd", r"silly", r"lazy", r"dense", r"thick", r"dim", r"ugly", r"fat",
    r"disgusting", r"crazy", r"insane", r"mental", r"psycho", r"delusional", r"hysterical",
    r"dramatic", r"paranoid", r"unreasonable", r"naive", r"childish", r"immature",
)

# Swearing: unprofessional towards anyone, whoever it is aimed at.
PROFANITY = (
    r"fuck\w*", r"f\*+k\w*", r"motherfuck\w*", r"shit\w*", r"bullshit\w*", r"crap\w*",
    r"goddamn\w*", r"damn\w*", r"piss\w*", r"bollocks", r"bugger\w*", r"bloody\s+hell",
    r"wtf", r"stfu", r"gtfo", r"fml",
)

# Slurs against a group: flagged in every context, quoted or not.
SLURS = (
    r"nigg(?:er|a|ah|az|uh)s?", r"niggers?", r"nigs?", r"nicc?as?", r"wiggers?", r"wiggas?",
    r"retarded", r"fag(?:got)?s?", r"dykes?", r"trann(?:y|ies)",
    r"retards?", r"spics?", r"chinks?", r"gooks?", r"kikes?", r"wetbacks?", r"ragheads?",
    r"towelheads?", r"(?<!maine\s)coons?", r"beaners?", r"pakis?", r"sand\s*niggers?", r"shemales?",
    r"wops?", r"dagos?", r"gypp?os?", r"honk(?:y|ies)", r"mongs?", r"spazz?\w*", r"homos?",
    r"jigaboos?", r"porch\s*monkeys?", r"yids?", r"zipperheads?",
)
