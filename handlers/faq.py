"""FAQ answers: every `faq.*` intent, built-in or imported or written by staff."""

from __future__ import annotations

from bot.messages import Choice, Message, Reply, Text

from .base import Context, Handler

# LINE allows 5,000 characters a text; keep answers readable in a chat bubble and
# link to the official page for the rest.
MAX_ANSWER = 1200


def fit_answer(answer: str, url: str | None, limit: int = MAX_ANSWER) -> str:
    answer = answer.replace("\r\n", "\n").strip()
    if answer.startswith("答覆內容："):
        answer = answer[len("答覆內容：") :].lstrip()
    if len(answer) > limit:
        cut = answer[:limit]
        # End at a sentence or line break where one is near.
        for mark in ("\n", "。", "；"):
            pos = cut.rfind(mark)
            if pos > limit * 0.6:
                cut = cut[: pos + 1]
                break
        answer = cut.rstrip() + "…（內容較長，完整說明請見下方連結）"
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
        if intent.url:
            text += f"\n\n資料來源：{intent.organ or '高雄市政府'}\n{intent.url}"
        choices: tuple[Choice, ...] = ()
        if intent.url:
            choices = (Choice(label="查看完整說明", action="uri", uri=intent.url),)
        return [Text(text, choices)]
