"""One module per service. `build_registry()` wires them in a fixed, explicit order."""

from .base import Context, Handler, Registry, intent_choice, parse_postback, postback


def build_registry() -> Registry:
    from .dispatch import DispatchHandler
    from .faq import FaqHandler
    from .human_agent import HumanAgentHandler
    from .legal_consultation import LegalConsultationHandler
    from .petition_status import PetitionStatusHandler
    from .proposals import ProposalCosignHandler, ProposalSubmitHandler
    from .sign_language import SignLanguageHandler

    registry = Registry()
    registry.register(FaqHandler())
    registry.register(HumanAgentHandler())
    registry.register(DispatchHandler())
    registry.register(PetitionStatusHandler())
    registry.register(ProposalCosignHandler())
    registry.register(ProposalSubmitHandler())
    registry.register(LegalConsultationHandler())
    registry.register(SignLanguageHandler())
    return registry


__all__ = ["Context", "Handler", "Registry", "build_registry", "intent_choice", "parse_postback", "postback"]
