"""The problems people tell in words, not in torch's messages: a thread's title, a summary, a
sentence around a log ("torch.compile breaks the output images", "recompiles again and
again", "until it exceeds the recompile limit", "torch.compile(model) fails").

``WORDS[name]`` holds a class's patterns, each (regex, hint, tag), and the lowercase literals
one of which any match contains; explain/textpatterns.py adds them after the class's own
patterns (torch's words first). They name what happened to the compile or to its outputs,
never a hypothesis: a clause that starts with "if" or "when" (what would happen) and a
sentence about graph breaks are left to the classes whose words they are. Those that only
name outputs need the log to be about torch.compile (tag ``needs_compile``).
"""
from __future__ import annotations

import re

I = re.I
# nouns of what a model gives, and of the media a generative model makes
_OUTPUTS = r"(?:results?|outputs?|numerics|predictions?|logits|answers?|generations?)"
_MEDIA = r"(?:images?|videos?|frames?|pictures?|samples?|text|tokens?|audio)"
_BAD = r"(?:corrupt(?:ed)?|garbled|garbage|broken|black|blank|noisy|distorted|nonsense|gibberish)"
# what a compile does to its outputs (not "breaks the graph": a graph break)
_RUINS = (r"(?:breaks?|broke|corrupts?|corrupted|ruins?|ruined|destroys?|destroyed|garbles?|"
          r"garbled|mess(?:es|ed)? up|scrambles?|scrambled)")
# a hypothesis, not a report: "if torch.compile fails, ..."
_NOT_IF = r"^(?!.*\b(?:if|when|whether|unless|in case)\s+(?:the\s+)?(?:torch\.)?compil\w*" \
          r"(?:\([^)]*\))?\s+(?:fails?|failed|errors?|crash\w*))"
# a sentence about graph breaks, recompiles, memory or a crash is those classes' to read
_NOT_OTHER = r"(?!.*(?:graph[ -]?break|\bUnsupported\b|recompil|out of memory|\bOOM|segfault|" \
             r"segmentation fault|timed out))"

# what people say of a compile that never ends
_HANGS = r"(?:hangs?|hung|hanging|stalls?|stalled|stalling|gets? stuck|is stuck|freezes|froze)"

WORDS: dict = {
    "timeout": (
        # "torch.compile hangs", "it never ends compiling", "compiles forever", "CP 32 +
        # torch.compile hang": a compile (or a compiled run) that does not finish
        ((re.compile(r"\b(?:torch\.compile|compil\w*)\b[^.\n]{0,60}?\b" + _HANGS + r"\b|"
                     r"\b" + _HANGS + r"\b[^.\n]{0,40}?\b(?:torch\.compile|compil\w*)\b|"
                     r"\bcompil\w* forever\b|\bnever (?:ends|finishes|finished|completes) "
                     r"compil\w*", I), None),),
        ("hang", "hung", "stall", "stuck", "freez", "froze", "forever", "never ")),
    "oom": (
        # the abbreviation, as people write it ("OOM in torch.compile", "OOMed")
        ((re.compile(r"(?<![\w-])OOM(?:s|ed|ing)?\b(?!s?:\s*0\b)(?!\s+(?:debugging|docs?)\b)"),
          None),),
        ("oom",)),
    "cudagraph_overwrite": (
        # the end of cudagraph trees' message quoted in a sentence (at a line's start it is
        # the rest of a wrapped message, which the line before it starts)
        ((re.compile(r"\S.*?\boverwritten by a subsequent (?:run|forward)", I), None),),
        ("overwritten",)),
    "compile_error": (
        ((re.compile(_NOT_IF + _NOT_OTHER +
                     r".*?(?:\b(?:torch\.compile|compil(?:e|ation|ing))(?:\([^)]{0,80}\))?\s+"
                     r"(?:fails|failed|crash(?:es|ed)|errors? out|errored|raises|raised|throws|"
                     r"threw)\b|\bcompil(?:e|ation)\s+(?:errors?|failures?|failed)\b|"
                     r"\b(?:failed|fails|failing|unable) to (?:apply |run |use )?(?:torch\.)?"
                     r"compile\b|"
                     r"\b(?:while|when|during)\s+compil\w+\b[^.\n]{0,100}?\b(?:[A-Z]\w*Error|"
                     r"exception)\b[^.\n]{0,20}?\b(?:is |was )?(?:raised|thrown)|"
                     r"\b(?:[A-Z]\w*Error|exception|error)\b[^.\n]{0,20}?\b(?:is |was )?"
                     r"(?:raised|thrown)\s+(?:while|when|during)\s+compil\w+)", I), None),),
        ("compile fail", "compile crash", "compile error", "compile rais", "compile threw",
         "compile throw", "compiling", "compilation", "compile(", "to compile",
         "compile:", "compile fails", "compile failed")),
    "recompile_limit": (
        ((re.compile(r"\b(?:exceed\w*|hit(?:s|ting)?|reach\w*|over)\s+(?:the\s+)?(?:dynamo'?s?\s+|"
                     r"torch\.compile'?s?\s+)?(?:re-?compil\w*|compil\w*|cache[ _]size|"
                     r"recompilation)\s+(?:cache\s+)?limit\b|"
                     r"\b(?:overload\w*|fill\w*(?: up)?|exhaust\w*|exceed\w*)\s+(?:the\s+)?"
                     r"(?:re-?)?compil\w*\s+cache\b", I), None),),
        ("limit", "compilation cache", "compile cache", "compiled cache", "recompil")),
    "numeric_mismatch": (
        ((re.compile(r"\b(?:wrong|incorrect|different|inconsistent|mismatch(?:ed|ing)?|garbage|"
                     r"corrupt(?:ed)?)\s+(?:numerical\s+)?" + _OUTPUTS + r"\b(?!\s+(?:shapes?|"
                     r"sizes?|types?|dtypes?|devices?|lengths?|names?|formats?|files?|dir\w*|"
                     r"paths?|modes?|specs?))|"
                     r"\b(?:wrong|incorrect|garbage|garbled|corrupt(?:ed)?|broken|black|blank|"
                     r"noisy|distorted)\s+" + _MEDIA + r"\b|"
                     r"\b(?:results?|outputs?|numerics|predictions?|logits|generations?)\s+"
                     r"(?:are\s+|is\s+|were\s+|was\s+)?(?:differ(?:s|ent)?|mismatch(?:es|ed)?|"
                     r"diverg\w*|(?:do|does|did)(?:n't| not) match|wrong|incorrect|"
                     r"inconsistent)\b|"
                     r"\b(?:accuracy|numerical|numeric|precision)\s+(?:drops?|regress\w*|"
                     r"degrad\w*|mismatch\w*|discrepanc\w*|differences?|divergences?|"
                     r"deviations?|inconsistenc\w*)|"
                     r"\bnumerically\s+(?:divergent|different|wrong|incorrect|inconsistent|off)\b|"
                     # "differ drastically from the eager ones", "eager/compile divergence"
                     r"\b(?:differ(?:s|ed|ing)?|diverg(?:e|es|ed|ing)|deviat(?:e|es|ed|ing))\s+"
                     r"(?:\w+\s+){0,2}from\s+(?:the\s+)?eager\b|"
                     r"\b(?:eager|compiled?)\s*(?:/|vs\.?|and)\s*(?:torch\.)?(?:compiled?|eager)"
                     r"\s+(?:divergence|difference|mismatch|discrepancy)|"
                     # "torch compile breaks the output images", "generation comes out corrupted"
                     r"\bcompil\w*\b[^.\n]{0,30}?\b" + _RUINS + r"\s+(?:the\s+|my\s+|all\s+|its\s+)?"
                     r"(?:\w+\s+)?(?:" + _OUTPUTS[3:-1] + r"|" + _MEDIA[3:-1] + r")\b|"
                     r"\b(?:" + _OUTPUTS[3:-1] + r"|" + _MEDIA[3:-1] + r")\s+(?:comes?|came)\s+"
                     r"out\s+(?:\w+\s+)?(?:wrong|" + _BAD[3:-1] + r")\b|"
                     r"\b(?:" + _OUTPUTS[3:-1] + r"|" + _MEDIA[3:-1] + r")\s+(?:is|are|was|were|"
                     r"looks?|looked|becomes?|became|gets?|got)\s+(?:\w+\s+)?" + _BAD + r"\b", I),
          None, "needs_compile"),),
        ("wrong", "incorrect", "different", "inconsistent", "mismatch", "garbage", "corrupt",
         "diverg", "n't match", "not match", "numerical", "numeric", "precision", "garbled",
         "broken", "black", "blank", "noisy", "distorted", "from eager", "from the eager", "break",
         "broke",
         "ruin", "destroy", "mess", "scrambl", "nonsense", "gibberish")),
    "state_mutation": (
        # a module's own Python value told as the cause: "nn.Module int/float attributes
        # caused re-compile", "a model instance attribute `int` is silently not updated"
        ((re.compile(_NOT_IF + r".*?\b(?:nn\.Module|module|model(?: instance)?|instance|stateful|"
                     r"self)(?:'s)?\s+`?(?:int|integer|float|bool|scalar|python)`?(?:\s*/\s*\w+)?"
                     r"(?:\s+(?:attributes?|states?|counters?|values?))?`?\b[^.\n]{0,80}?\b"
                     r"(?:caus\w+ (?:a )?re-?compil\w*|trigger\w* re-?compil\w*|"
                     r"(?:is|are|was|were|gets?|got) (?:\w+ ){0,2}not (?:\w+ ){0,1}updated)|"
                     r"\b(?:nn\.Module|model instance|stateful)\s+(?:attributes?\s+)?`?(?:int|"
                     r"integer|float)`?\s+(?:attributes?\s+)?(?:is|are) (?:\w+ ){0,2}not (?:\w+ ){0,1}"
                     r"updated", I), None),),
        ("module", "instance", "stateful", "self")),
    "graph_break": (
        # dynamo's exception named in a sentence: "raises an Unsupported exception"
        ((re.compile(r"\b(?:an?|the)\s+(?:torch\._dynamo\.exc\.)?Unsupported\s+"
                     r"(?:exception|error)\b"), None, "raised"),),
        ("unsupported",)),
    "recompile": (
        ((re.compile(r"\b(?:keeps?|kept|constantly|always|repeatedly)\s+recompil\w*|"
                     r"\brecompil\w*\s+(?:on\s+)?(?:every|each)\s+(?:step|call|iteration|time|"
                     r"batch|forward|token|request)|"
                     r"\b(?:frequent|excessive|constant|repeated|endless|too many)\s+(?:\w+\s+)?"
                     r"re-?compil\w*|"
                     r"\brecompil\w*\b[^.\n]{0,60}?\b(?:again and again|over and over|all the time|"
                     r"constantly|repeatedly|(?:every|each)\s+(?:single\s+)?(?:step|call|iteration|"
                     r"time|batch|forward|token|request|invocation|run|epoch))\b|"
                     # a count: "recompiled our UNet 38 times", "12 recompilation records"
                     r"\bre-?compil\w*\b[^.\n]{0,40}?\b[1-9]\d*\s+times\b|"
                     r"(?<![\w.])[1-9]\d*\s+re-?compil\w+", I), None),),
        ("recompil",)),
}
# the screen reports keywords that do not overlap: "recompil" found in "recompilation" or
# "precompile(" must also stand for compile_error's "compilation" or "compile(" inside it
WORDS["recompile"] = (WORDS["recompile"][0], WORDS["recompile"][1] + tuple(
    "re" + k for k in WORDS["compile_error"][1] if k.startswith("compil")))
