"""FAQ answers: every `faq.*` intent, built-in or imported or written by staff."""

from __future__ import annotations

import re

from bot.messages import Choice, Message, Reply, Text

from .base import Context, Handler

# LINE allows 5,000 characters a text; keep answers readable in a chat bubble and
# link to the official page for the rest.
MAX_ANSWER = 1200
_FULLWIDTH_SCHEME = re.compile(r"(https?)：//")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


def fit_answer(answer: str, url: str | None, limit: int = MAX_ANSWER) -> str:
    answer = answer.replace("\r\n", "\n").strip()
    if answer.startswith("答覆內容："):
        answer = answer[len("答覆內容：") :].lstrip()
    # The city's texts write links with a full-width colon ("https：//"), which no phone opens.
    answer = _FULLWIDTH_SCHEME.sub(r"\1://", answer)
    answer = _BLANK_LINES.sub("\n\n", answer)
    if len(answer) > limit:
        cut = answer[:limit]
        # End at a sentence or line break where one is near.
        for mark in ("\n", "。", "；"):
            pos = cut.rfind(mark)
            if pos > limit * 0.6:
                cut = cut[: pos + 1]
                break
        more = "完整說明請見下方連結" if url else "完整說明請洽 1999 市民服務專線"
        answer = cut.rstrip() + f"…（內容較長，{more}）"
    return answer


class FaqHandler(Handler):
    intent_prefix = "faq."

    def handle(self, msg: Message, ctx: Context) -> list[Reply]:
        intent_id = ctx.verdict.intent if ctx.verdict else ""
        intent = ctx.matcher.intents.get(intent_id)
        if intent is None or intent.answer is None:
            # The entry was removed between matching and answering.
            return [Text("抱歉，這則常見問題剛剛被更新了，請再問一次。")]
        text = fit_answer(intent.answer, intent.url)
        if intent.url and intent.url not in text:
            label = f"資料來源：{intent.organ}" if intent.organ else "詳細資訊"
            text += f"\n\n{label}\n{intent.url}"
        choices: tuple[Choice, ...] = ()
        if intent.url:
            choices = (Choice(label="查看完整說明", action="uri", uri=intent.url),)
        return [Text(text, choices)]
