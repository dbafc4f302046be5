"""The user-facing words, in Danish (the default) and English: one catalogue for everything.

The web app's pages, the engine's refusals and field errors, and the words around a
definition's own texts in mails and calendar invitations are all looked up here by key.
A definition's own texts (stage names, labels, templates) come from the definition.
Every key has both languages (a test checks it); a missing language falls back to Danish.
"""

from __future__ import annotations

from typing import Any

#: The languages user-facing text is written in; Danish is the default.
LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"

TEXTS: dict[str, dict[str, str]] = {
    # The web app
    "app_name": {"da": "Ungeindsats – sager", "en": "Youth services – cases"},
    "skip": {"da": "Gå til indhold", "en": "Skip to content"},
    "login": {"da": "Log ind", "en": "Log in"},
    "logout": {"da": "Log ud", "en": "Log out"},
    "username": {"da": "Brugernavn", "en": "Username"},
    "password": {"da": "Adgangskode", "en": "Password"},
    "login_failed": {
        "da": "Forkert brugernavn eller adgangskode.",
        "en": "Wrong username or password.",
    },
    "login_throttled": {
        "da": "For mange forkerte forsøg herfra eller med dette brugernavn. "
        "Prøv igen om {minutes} min.",
        "en": "Too many failed attempts from here or with this username. "
        "Try again in {minutes} min.",
    },
    "change_password": {"da": "Skift adgangskode", "en": "Change password"},
    "current_password": {"da": "Nuværende adgangskode", "en": "Current password"},
    "new_password": {"da": "Ny adgangskode", "en": "New password"},
    "repeat_password": {"da": "Gentag den nye adgangskode", "en": "Repeat the new password"},
    "password_hint": {
        "da": "Mindst 12 tegn, ikke kun mellemrum, og ikke en af de mest almindelige. "
        "Når du skifter, logges dine andre sessioner og API-nøgler ud.",
        "en": "At least 12 characters, not only spaces, and not one of the most common. "
        "Changing it logs out your other sessions and API tokens.",
    },
    "password_rules": {
        "da": "Ny adgangskode: vælg mindst 12 tegn, ikke kun mellemrum, med flere forskellige "
        "tegn, og ikke en af de mest almindelige.",
        "en": "New password: choose at least 12 characters, not only spaces, with several "
        "different characters, and not one of the most common.",
    },
    "password_wrong": {
        "da": "Nuværende adgangskode: den er ikke rigtig. Skriv den adgangskode, du loggede ind med.",
        "en": "Current password: it is not right. Type the password you logged in with.",
    },
    "password_mismatch": {
        "da": "Gentag den nye adgangskode: de to felter er ikke ens. Skriv den samme i begge.",
        "en": "Repeat the new password: the two fields differ. Type the same in both.",
    },
    "password_sso": {
        "da": "Din adgangskode hører til jeres fælles login (SSO). Skift den dér.",
        "en": "Your password belongs to your organisation's single sign-on. Change it there.",
    },
    "password_changed": {
        "da": "Adgangskoden er skiftet. {ended} andre sessioner og API-nøgler er logget ud.",
        "en": "Your password is changed. {ended} other sessions and API tokens were logged out.",
    },
    "login_expired": {
        "da": "Formularen var for gammel. Prøv igen.",
        "en": "The form had expired. Please try again.",
    },
    "language": {"da": "Sprog", "en": "Language"},
    "caseload": {"da": "Mine sager", "en": "My cases"},
    "refer": {"da": "Ny henvisning", "en": "New referral"},
    "search_reference": {"da": "Søg på sagsnummer", "en": "Search by case reference"},
    "stage": {"da": "Fase", "en": "Stage"},
    "all_stages": {"da": "Alle faser", "en": "All stages"},
    "overdue_only": {"da": "Kun sager med overskredne frister", "en": "Only overdue cases"},
    "filter": {"da": "Vis", "en": "Show"},
    "reference": {"da": "Sagsnummer", "en": "Case reference"},
    "my_part": {"da": "Min rolle", "en": "My part"},
    "opened": {"da": "Oprettet", "en": "Opened"},
    "next_deadline": {"da": "Næste frist", "en": "Next deadline"},
    "overdue": {"da": "Overskredet", "en": "Overdue"},
    "no_cases": {"da": "Ingen sager matcher.", "en": "No cases match."},
    "count_cases": {"da": "{shown} af {total} sager", "en": "{shown} of {total} cases"},
    "previous_page": {"da": "Forrige", "en": "Previous"},
    "next_page": {"da": "Næste", "en": "Next"},
    "relation_coordinator": {"da": "Tovholder/koordinator", "en": "Coordinator"},
    "relation_caseworker": {"da": "Sagsbehandler", "en": "Caseworker"},
    "relation_team_member": {"da": "Teammedlem", "en": "Team member"},
    "young_person": {"da": "Den unge", "en": "The young person"},
    "name": {"da": "Navn", "en": "Name"},
    "cpr": {"da": "CPR-nummer", "en": "CPR number"},
    "birth_date": {"da": "Fødselsdato", "en": "Birth date"},
    "guardians": {"da": "Forældremyndighed", "en": "Custodial parents"},
    "current_stage": {"da": "Nuværende fase", "en": "Current stage"},
    "next_steps": {"da": "Næste skridt", "en": "Next steps"},
    "other_steps": {
        "da": "Hvis forløbet stopper eller holder pause",
        "en": "If the course ends or pauses",
    },
    "no_next_steps": {
        "da": "Der er ingen skridt, du kan tage i denne fase.",
        "en": "There are no steps you can take in this stage.",
    },
    "meeting_mode": {"da": "Mødetilstand (storskærm)", "en": "Meeting mode (big screen)"},
    "team": {"da": "Den unges team", "en": "The young person's team"},
    "chosen_by_young_person": {"da": "Valgt af den unge", "en": "Chosen by the young person"},
    "coordinator": {"da": "Tovholder/koordinator", "en": "Coordinator"},
    "caseworker": {"da": "Sagsbehandler", "en": "Caseworker"},
    "agenda": {"da": "Den unges dagsorden", "en": "The young person's agenda"},
    "plan": {"da": "Planen", "en": "The plan"},
    "plan_version": {
        "da": "Version {version}, skrevet på mødet {date}",
        "en": "Version {version}, written at the meeting on {date}",
    },
    "plan_version_plain": {"da": "Version {version}", "en": "Version {version}"},
    "no_plan": {"da": "Der er ikke skrevet en plan endnu.", "en": "No plan has been written yet."},
    "goal": {"da": "Mål", "en": "Goal"},
    "who": {"da": "Hvem", "en": "Who"},
    "department": {"da": "Afdeling", "en": "Department"},
    "theme": {"da": "Tema", "en": "Theme"},
    "deadline": {"da": "Frist", "en": "Deadline"},
    "status": {"da": "Status", "en": "Status"},
    "status_open": {"da": "I gang", "en": "Open"},
    "status_met": {"da": "Nået", "en": "Met"},
    "status_partly": {"da": "Delvist nået", "en": "Partly met"},
    "status_not_met": {"da": "Ikke nået", "en": "Not met"},
    # A team member whose department's consent was withdrawn (no longer on the case).
    "member_consent_withdrawn": {
        "da": "samtykket er trukket tilbage: ikke længere med",
        "en": "consent withdrawn: no longer taking part",
    },
    # A goal still open when its course ended: nobody marked it.
    "status_open_ended": {
        "da": "Ikke vurderet, før forløbet sluttede",
        "en": "Not reviewed before the course ended",
    },
    "meetings": {"da": "Møder", "en": "Meetings"},
    "next_meeting": {"da": "Næste møde", "en": "Next meeting"},
    "no_meeting_booked": {"da": "Intet møde er aftalt.", "en": "No meeting is booked."},
    # A meeting's change in the case's timeline: "Første samarbejdsmøde flyttet til ...".
    "meeting_change_book": {"da": "booket til {starts}", "en": "booked for {starts}"},
    "meeting_change_move": {"da": "flyttet til {starts}", "en": "moved to {starts}"},
    "meeting_change_cancel": {"da": "{starts} aflyst", "en": "{starts} cancelled"},
    "meeting_change_hold": {"da": "{starts} holdt", "en": "{starts} held"},
    # A meeting booked while the course is paused: whether it can be moved or cancelled
    # meanwhile is the municipality's model (the base allows both).
    "meeting_while_paused": {
        "da": "Forløbet er sat på pause: mødet kan ikke holdes, mens pausen varer (den unge "
        "får at vide, at det ikke holdes). Kan det ikke holdes som aftalt, så flyt eller "
        "aflys det, så alle får besked.",
        "en": "The course is paused: the meeting cannot be held while the pause lasts (the "
        "young person is told it is not held). If it cannot be held as booked, move or "
        "cancel it, so everyone is told.",
    },
    # A task a pause of the case set aside: its due date moves on by the pause's length.
    "task_held": {
        "da": "venter: forløbet er på pause; fristen rykkes med pausens længde",
        "en": "waiting: the course is paused; the due date moves on by the pause's length",
    },
    # The case page of a paused course: since when and by whom, then the pause's answers.
    "day_passed": {"da": "dagen er passeret", "en": "the day has passed"},
    "paused_since": {
        "da": "Forløbet er sat på pause {date} af {who}.",
        "en": "The course was paused on {date} by {who}.",
    },
    "meeting_while_paused_fixed": {
        "da": "Forløbet er sat på pause: mødet kan ikke holdes, flyttes eller aflyses, mens "
        "pausen varer (den unge får at vide, at det ikke holdes). Genoptag forløbet først.",
        "en": "The course is paused: the meeting cannot be held, moved or cancelled while "
        "the pause lasts (the young person is told it is not held). Resume the course first.",
    },
    "meeting_not_recorded": {
        "da": "Intet nyt møde er aftalt. {meeting} {starts} er ikke registreret som holdt endnu.",
        "en": "No new meeting is booked. {meeting} {starts} is not recorded as held yet.",
    },
    "participants": {"da": "Deltagere", "en": "Participants"},
    "timers": {"da": "Frister", "en": "Deadlines"},
    "no_timers": {"da": "Ingen frister kører.", "en": "No deadlines are running."},
    "tasks": {"da": "Åbne opgaver", "en": "Open tasks"},
    # Tasks: "Mine opgaver" and a case's tasks
    "my_tasks": {"da": "Mine opgaver", "en": "My tasks"},
    "tasks_open_tab": {"da": "Åbne", "en": "Open"},
    "tasks_done_tab": {"da": "Løste", "en": "Done"},
    "tasks_by_state": {"da": "Opgaver efter status", "en": "Tasks by state"},
    "tasks_done_heading": {"da": "Løste og lukkede opgaver", "en": "Done and closed tasks"},
    "task": {"da": "Opgave", "en": "Task"},
    "task_case": {"da": "Sag", "en": "Case"},
    "task_assignee": {"da": "Hvem", "en": "Who"},
    "task_due": {"da": "Frist", "en": "Due"},
    "task_closed": {"da": "Løst", "en": "Done"},
    "task_filter_case": {"da": "Sag (sagsnummer)", "en": "Case (reference)"},
    "all_cases": {"da": "Alle sager", "en": "All cases"},
    "count_tasks": {"da": "Opgaver i alt: {count}", "en": "Tasks in all: {count}"},
    "no_open_tasks": {"da": "Du har ingen åbne opgaver.", "en": "You have no open tasks."},
    "no_done_tasks": {
        "da": "Du har ingen løste opgaver endnu.",
        "en": "You have no done tasks yet.",
    },
    "case_tasks": {"da": "Opgaver", "en": "Tasks"},
    "no_case_tasks": {"da": "Sagen har ingen åbne opgaver.", "en": "The case has no open tasks."},
    "task_mark_done": {"da": "Markér som løst", "en": "Mark as done"},
    "task_note": {"da": "Note (valgfri)", "en": "Note (optional)"},
    "task_done_notice": {
        "da": "Opgaven er markeret som løst: {title}.",
        "en": "The task is marked as done: {title}.",
    },
    "task_state_open": {"da": "Åben", "en": "Open"},
    "task_state_done": {"da": "Løst", "en": "Done"},
    "task_state_cancelled": {"da": "Lukket", "en": "Closed"},
    "task_done_by": {"da": "Løst af {who} {when}", "en": "Done by {who} {when}"},
    "task_cancelled_when": {
        # Also when the course was paused: not "as the case moved on".
        "da": "Lukket af systemet {when}, da sagen forlod det trin, opgaven hørte til",
        "en": "Closed by the system {when} as the case left the stage the task belonged to",
    },
    "task_cancelled_by_consent": {
        "da": "Lukket af systemet {when}, da samtykket til afdelingen blev trukket tilbage",
        "en": "Closed by the system {when}, as the department's consent was withdrawn",
    },
    "task_cancelled_by_step": {
        "da": "Lukket af systemet {when}, da et skridt i sagen gjorde den overflødig",
        "en": "Closed by the system {when}: a step of the case made it unneeded",
    },
    "task_whole_department": {
        "da": "{department} – hele afdelingen",
        "en": "{department} – the whole department",
    },
    "task_not_done": {
        "da": "Opgaven er ikke markeret som løst – intet er ændret.",
        "en": "The task is not marked as done – nothing has changed.",
    },
    "task_already_done": {
        "da": "Opgaven er allerede markeret som løst.",
        "en": "The task is already marked as done.",
    },
    "task_already_cancelled": {
        "da": "Opgaven er lukket, fordi sagen er gået videre.",
        "en": "The task is closed because the case has moved on.",
    },
    "task_not_found": {
        "da": "Opgaven findes ikke på din liste.",
        "en": "The task is not on your list.",
    },
    "task_not_yours": {
        "da": "Opgaven er ikke din: kun den, der har fået opgaven, kan markere den som løst.",
        "en": "The task is not yours: only the person it was given to can mark it as done.",
    },
    "task_note_too_long": {
        "da": "Noten må højst være {max} tegn.",
        "en": "The note may be at most {max} characters.",
    },
    "task_note_cpr": {
        "da": "Noten indeholder et CPR-nummer. Skriv det ikke i noten: sagen har den unges "
        "CPR-nummer, krypteret; i en note står det åbent for hele teamet.",
        "en": "The note holds a CPR number. Leave it out: the case holds the young person's "
        "CPR number, encrypted; in a note it is open to the whole team.",
    },
    "task_title_cpr": {
        "da": "titlen indeholder et CPR-nummer; skriv det ikke her (sagen har det, krypteret)",
        "en": "the title holds a CPR number; leave it out (the case holds it, encrypted)",
    },
    "task_note_bad_character": {
        "da": "Noten indeholder et tegn, der ikke kan bruges.",
        "en": "The note contains a character that cannot be used.",
    },
    "task_add": {"da": "Tilføj opgave", "en": "Add a task"},
    "task_add_assignee": {"da": "Hvem skal løse den?", "en": "Who should do it?"},
    "task_add_title": {"da": "Hvad skal gøres?", "en": "What must be done?"},
    "task_add_due": {"da": "Frist (valgfri)", "en": "Due (optional)"},
    "task_added_notice": {
        "da": "Opgaven er tilføjet: {title}.",
        "en": "The task is added: {title}.",
    },
    "task_problem_due": {
        "da": "fristen er passeret; vælg i dag eller en senere dag",
        "en": "the due date has passed; choose today or a later day",
    },
    "task_add_refused": {
        "da": "Opgaven er ikke tilføjet. Ret dette:",
        "en": "The task is not added. Please fix this:",
    },
    "task_problem_assignee": {
        "da": "vælg en person med en rolle på sagen: sagsbehandleren, koordinatoren eller et teammedlem",
        "en": "choose someone with a part on the case: its caseworker, coordinator or a team member",
    },
    "task_problem_title": {
        "da": "skriv, hvad der skal gøres (højst 500 tegn)",
        "en": "say what must be done (at most 500 characters)",
    },
    "task_problem_reference": {
        "da": "sagen er afsluttet; der kan ikke tilføjes opgaver",
        "en": "the case is closed; no tasks can be added",
    },
    "task_add_not_allowed": {
        "da": "Du kan ikke tilføje opgaver på denne sag.",
        "en": "You cannot add tasks on this case.",
    },
    "system_closer": {"da": "systemet", "en": "the system"},
    # A case's meetings
    "meeting_kind": {"da": "Møde", "en": "Meeting"},
    "meeting_when": {"da": "Tidspunkt", "en": "When"},
    "meeting_place": {"da": "Sted", "en": "Place"},
    "meeting_state": {"da": "Status", "en": "State"},
    "meeting_state_booked": {"da": "Booket", "en": "Booked"},
    "meeting_state_moved": {"da": "Flyttet", "en": "Moved"},
    "meeting_state_cancelled": {"da": "Aflyst", "en": "Cancelled"},
    "meeting_state_held": {"da": "Holdt", "en": "Held"},
    "no_meetings": {"da": "Sagen har ingen møder endnu.", "en": "The case has no meetings yet."},
    "attendance_present": {"da": "Til stede", "en": "Present"},
    "attendance_absent": {"da": "Afbud", "en": "Sent apologies"},
    "attendance_no_show": {"da": "Udeblevet", "en": "Did not show up"},
    "attendance_of": {"da": "Fremmøde til {meeting}", "en": "Attendance at {meeting}"},
    "attendance_no_meeting": {
        "da": "Der er ikke booket et møde at registrere fremmøde for.",
        "en": "No booked meeting to record attendance for.",
    },
    "no_booked_meetings": {
        "da": "Sagen har ingen bookede møder.",
        "en": "The case has no booked meetings.",
    },
    "young_persons_words": {"da": "Den unges egne ord", "en": "The young person's own words"},
    "young_persons_words_hint": {
        "da": "Det har den unge skrevet på sin egen side – før og efter møderne.",
        "en": "What the young person wrote on their own page – before and after the meetings.",
    },
    "no_booked_meetings_step": {
        "da": "Sagen har ingen bookede møder, så der er intet møde at tage dette skridt for. "
        "Book et møde fra sagen først.",
        "en": "The case has no booked meetings, so there is no meeting to take this step for. "
        "Book a meeting from the case first.",
    },
    "participant_guardian": {"da": "Forælder/værge", "en": "Parent/guardian"},
    "participant_parents": {"da": "{names} (forælder/værge)", "en": "{names} (parent/guardian)"},
    "participant_young_person": {"da": "{name} (den unge)", "en": "{name} (the young person)"},
    "networks": {"da": "Netværk og fællesskaber", "en": "Networks and communities"},
    "timeline": {"da": "Forløb", "en": "Timeline"},
    "by": {"da": "af", "en": "by"},
    # Who took a step, on the case page's timeline: a person by name and role, else the role.
    "actor_named": {"da": "{name} ({role})", "en": "{name} ({role})"},
    "actor_caseworker": {"da": "sagsbehandler", "en": "caseworker"},
    "actor_coordinator": {"da": "koordinator", "en": "coordinator"},
    "actor_team_member": {"da": "teammedlem", "en": "team member"},
    "actor_leader": {"da": "leder", "en": "manager"},
    "actor_young_person": {"da": "den unge", "en": "the young person"},
    "actor_guardian": {"da": "forælder/værge", "en": "parent/guardian"},
    "actor_system": {"da": "systemet", "en": "the system"},
    # The system's step telling a case of a consent: whose consent act it followed.
    "actor_with_consent": {
        "da": "systemet – udløst af {who}",
        "en": "the system – set off by {who}",
    },
    "actor_staff": {"da": "medarbejder", "en": "member of staff"},
    "timer_event_refused": {
        "da": "Fristen «{timer}» udløb {due}, men skridtet blev afvist",
        "en": "The deadline “{timer}” fell due {due}, but the step was refused",
    },
    "nothing_changed": {"da": "intet blev ændret", "en": "nothing changed"},
    "timer_refused_wrong_stage": {
        "da": "ikke muligt i sagens nuværende trin",
        "en": "not possible in the case's current stage",
    },
    "timer_refused_guard_false": {
        "da": "betingelsen var ikke opfyldt",
        "en": "its condition did not hold",
    },
    "timer_refused_case_closed": {"da": "sagen er afsluttet", "en": "the case is closed"},
    "step_saved": {"da": "Skridtet er gemt: {step}.", "en": "The step is saved: {step}."},
    "row_number": {"da": "række {n}", "en": "row {n}"},
    "case_opened": {"da": "Sagen {reference} er oprettet.", "en": "Case {reference} is opened."},
    "referred_for_another": {
        "da": "Henvisningen er gemt som sag {reference}, og den ansvarlige sagsbehandler har "
        "fået besked. Du er ikke selv på sagen, så den står ikke på din liste.",
        "en": "The referral is saved as case {reference}, and the responsible caseworker has "
        "been told. You are not on the case yourself, so it is not on your list.",
    },
    "save": {"da": "Gem", "en": "Save"},
    "back_without_saving": {"da": "Tilbage uden at gemme", "en": "Back without saving"},
    "step_ends_course": {
        "da": "Når du gemmer, afsluttes forløbet ({stage}), og alle på sagen får besked.",
        "en": "When you save, the course ends ({stage}), and everyone on the case is told.",
    },
    "step_ends_meetings": {
        "da": "Planlagte møder ({count}) aflyses, og deltagerne får en aflysning.",
        "en": "Meetings booked ({count}) are cancelled, and those invited are told.",
    },
    "step_cannot_undo": {
        "da": "Det kan ikke gøres om her; et nyt forløb kræver en ny henvisning.",
        "en": "It cannot be undone here; a new course takes a new referral.",
    },
    "step_pauses_course": {
        "da": "Når du gemmer, sættes forløbet på pause: fristerne står stille, opgaverne "
        "venter, og der holdes ingen møder, før det genoptages. De andre på sagen får besked.",
        "en": "When you save, the course is paused: the deadlines stand still, the tasks "
        "wait, and no meeting is held until it is resumed. The others on the case are told.",
    },
    "step_resumes_course": {
        "da": "Når du gemmer, fortsætter forløbet i «{stage}»: fristerne går videre med den "
        "tid, de havde tilbage, og opgaver, der ventede, får deres frist rykket med "
        "pausens længde. De andre på sagen får besked.",
        "en": "When you save, the course goes on in «{stage}»: the deadlines go on with the "
        "time they had left, and tasks that waited have their due dates moved on by the "
        "pause's length. The others on the case are told.",
    },
    "step_cancels_meeting": {
        "da": "Når du gemmer, aflyses mødet, og alle inviterede får en aflysning.",
        "en": "When you save, the meeting is cancelled, and everyone invited is told.",
    },
    "cancel": {"da": "Annullér", "en": "Cancel"},
    "back_to_case": {"da": "Tilbage til sagen", "en": "Back to the case"},
    "refer_errors_heading": {
        "da": "Henvisningen er ikke gemt. Ret dette:",
        "en": "The referral is not saved. Please fix this:",
    },
    "errors_heading": {
        "da": "Skridtet er ikke gemt. Ret dette:",
        "en": "The step is not saved. Please fix this:",
    },
    "ung_consent_course_ended": {
        "da": "Forløbet er afsluttet, så der skal ikke gives samtykke til at dele.",
        "en": "The course has ended, so no consent to share is needed.",
    },
    "ung_consent_covers_all": {
        "da": "Du har allerede sagt ja til alle afdelinger i teamet.",
        "en": "You have already said yes to every department of the team.",
    },
    "ung_consent_not_changed": {
        "da": "Samtykket blev ikke ændret. Gå tilbage til dit forløb og prøv igen, eller "
        "kontakt din koordinator.",
        "en": "The consent was not changed. Go back to your course and try again, or contact "
        "your coordinator.",
    },
    "ung_errors_heading": {
        "da": "Det er ikke sendt endnu. Ret dette:",
        "en": "It is not sent yet. Please fix this:",
    },
    "required_mark": {"da": "skal udfyldes", "en": "required"},
    "ung_star_means": {
        "da": "Spørgsmål med * skal besvares.",
        "en": "Questions marked * must be answered.",
    },
    "add_row": {"da": "Tilføj en række mere", "en": "Add another row"},
    "add_goal": {"da": "Tilføj et mål", "en": "Add a goal"},
    "goal_placeholder": {"da": "Jeg skal ...", "en": "I will ..."},
    "person": {"da": "Person", "en": "Person"},
    "role": {"da": "Rolle", "en": "Role"},
    "network_name": {"da": "Netværk/fællesskab", "en": "Network or community"},
    "network_kind": {"da": "Slags", "en": "Kind"},
    "choose": {"da": "Vælg ...", "en": "Choose ..."},
    "yes": {"da": "Ja", "en": "Yes"},
    "no": {"da": "Nej", "en": "No"},
    "review_previous": {
        "da": "Hvordan gik det med målene fra sidste periode?",
        "en": "How did the goals of the last period go?",
    },
    "write_plan": {
        "da": "Den unge fortæller – koordinatoren skriver",
        "en": "The young person tells – the coordinator writes",
    },
    "definition": {"da": "Forløb", "en": "Process"},
    "choose_definition": {"da": "Vælg kommunens forløb", "en": "Choose the process"},
    "young_person_details": {
        "da": "Oplysninger om den unge (vises kun for de medarbejdere, der har sagen)",
        "en": "About the young person (shown only to the staff on the case)",
    },
    "cpr_help": {"da": "10 cifre, fx 010110-4321", "en": "10 digits, e.g. 010110-4321"},
    "not_found": {"da": "Siden findes ikke.", "en": "The page does not exist."},
    "purpose_heading": {"da": "Formål med opslaget", "en": "Purpose of looking"},
    "purpose_text": {
        "da": "Du ser {reference} med hjemmel i {basis}, ikke som en del af den unges team. "
        "Skriv, hvorfor du åbner sagen. Formålet gemmes i loggen.",
        "en": "You see {reference} through a legal basis ({basis}), not as one of the young "
        "person's team. State why you open the case; the purpose is kept in the log.",
    },
    "purpose_label": {"da": "Formål", "en": "Purpose"},
    "purpose_submit": {"da": "Åbn sagen", "en": "Open the case"},
    "consents": {"da": "Samtykke", "en": "Consent"},
    "no_consent": {
        "da": "Der er ikke registreret samtykke. Sagen deles ikke med teamets afdelinger.",
        "en": "No consent is recorded. The case is not shared with the team's departments.",
    },
    "consent_given": {
        "da": "Givet {date} af {who} (alder {age})",
        "en": "Given {date} by {who} (age {age})",
    },
    "consent_by_young_person": {"da": "den unge", "en": "the young person"},
    "consent_by_guardian": {"da": "forældremyndighedsindehaver", "en": "the custodial parent"},
    "consent_departments": {"da": "Afdelinger", "en": "Departments"},
    "consent_categories": {"da": "Oplysninger", "en": "Data"},
    "consent_withdrawn": {"da": "trukket tilbage {date}", "en": "withdrawn {date}"},
    "consent_withdraw": {"da": "Træk tilbage", "en": "Withdraw"},
    "consent_withdraw_all": {
        "da": "Træk hele samtykket tilbage",
        "en": "Withdraw the whole consent",
    },
    "consent_record": {"da": "Registrér samtykke", "en": "Record consent"},
    "consent_date": {"da": "Dato for samtykket", "en": "Date of the consent"},
    "consent_guardian": {
        "da": "Forældremyndighedsindehaveren har også givet samtykke",
        "en": "The custodial parent has consented too",
    },
    "consent_refused": {"da": "Samtykket er ikke gemt", "en": "The consent is not saved"},
    "consent_problem_guardian": {
        "da": "Den unge er under myndighedsalderen i dette forløb: "
        "forældremyndighedsindehaveren skal også give samtykke.",
        "en": "The young person is below the age of consent in this process: the custodial "
        "parent must consent too.",
    },
    "consent_problem_departments": {
        "da": "Vælg mindst én afdeling, som samtykket gælder.",
        "en": "Choose at least one department the consent covers.",
    },
    "consent_problem_given_on": {
        "da": "Datoen for samtykket kan ikke ligge i fremtiden.",
        "en": "The consent's date cannot be in the future.",
    },
    "consent_problem_given_on_before": {
        "da": "Datoen for samtykket ligger før sagen blev oprettet; et samtykke til "
        "forløbet er givet i sagen: skriv den dag, det blev givet (eller lad feltet stå tomt: "
        "i dag).",
        "en": "The consent's date is before the case was opened; a consent to the course is "
        "given in the case: write the day it was given (or leave it empty: today).",
    },
    "consent_problem_given_on_date": {
        "da": "Datoen for samtykket skal være en dato (ÅÅÅÅ-MM-DD).",
        "en": "The consent's date must be a date (YYYY-MM-DD).",
    },
    "consent_saved": {"da": "Samtykket er gemt.", "en": "The consent is saved."},
    "consent_withdrawn_notice": {
        "da": "Samtykket er trukket tilbage for: {departments}.",
        "en": "Consent is withdrawn for: {departments}.",
    },
    # Consent on a step's form, and before a withdrawal (workflow.web.consent_forms)
    "consent_scope_legend": {"da": "Samtykkets omfang", "en": "What the consent covers"},
    "consent_scope_help": {
        "da": "Samtykket registreres sammen med trinnet, som på kortet Samtykke. Vælg de "
        "afdelinger og oplysninger, den unge har sagt ja til at dele. Kun de valgte "
        "afdelinger kan se sagen og få besked.",
        "en": "The consent is recorded with the step, as on the Consent card. Choose the "
        "departments and data the young person agreed to share. Only the departments chosen "
        "can see the case and are told about it.",
    },
    "consent_scope_refused": {
        "da": "Samtykket kan ikke registreres, så intet er gemt. Ret det markerede.",
        "en": "The consent cannot be recorded, so nothing is saved. Correct what is marked.",
    },
    "withheld_warning_heading": {
        "da": "Ikke dækket af den unges samtykke",
        "en": "Not covered by the young person's consent",
    },
    "withheld_warning_text": {
        "da": "Samtykket dækker ikke afdelingen for disse personer. De får ikke trinnets "
        "beskeder (f.eks. indkaldelsen) og kan ikke se sagen:",
        "en": "The consent does not cover the department of these people. They are not sent "
        "the step's notifications (such as the invitation) and cannot see the case:",
    },
    "withheld_warning_then": {
        "da": "Beskederne holdes tilbage. Registreres samtykket senere, sendes de, hvis de "
        "stadig er aktuelle (mødet ligger endnu foran). Intet er gemt endnu.",
        "en": "The notifications are withheld. If consent is recorded later, they are sent "
        "if they are still relevant (the meeting is still ahead). Nothing is saved yet.",
    },
    "withheld_confirm": {
        "da": "Gem alligevel – jeg ved, at de ikke får besked nu",
        "en": "Save anyway – I know they are not told now",
    },
    "withheld_no_person": {"da": "afdelingen", "en": "the department"},
    "consent_withdraw_confirm_heading": {
        "da": "Træk samtykket tilbage?",
        "en": "Withdraw the consent?",
    },
    "consent_withdraw_confirm_departments": {
        "da": "Samtykket trækkes tilbage for disse afdelinger:",
        "en": "The consent is withdrawn for these departments:",
    },
    "consent_withdraw_confirm_categories": {
        "da": "Samtykket dækker:",
        "en": "The consent covers:",
    },
    "consent_withdraw_confirm_effect": {
        "da": "Fra nu af kan afdelingernes teammedlemmer ikke se sagen, og de får ingen "
        "beskeder om den – heller ikke dem, der venter – kun en aflysning af de kommende "
        "møder, de var inviteret til, så de forsvinder fra deres kalender. Intet slettes: "
        "samtykket, sagens historik og planen bliver stående. Deles sagen igen, skal et nyt "
        "samtykke registreres.",
        "en": "From now on the departments' team members cannot see the case, and they are "
        "sent no notifications about it – not even those waiting – only a cancellation of "
        "the meetings to come they were invited to, so these leave their calendars. Nothing "
        "is deleted: the consent, the case history and the plan stay. Sharing again needs a "
        "new consent.",
    },
    "consent_withdraw_confirm_button": {
        "da": "Ja, træk samtykket tilbage",
        "en": "Yes, withdraw the consent",
    },
    "ung_withdraw_confirm_heading": {
        "da": "Vil du trække samtykket tilbage?",
        "en": "Do you want to withdraw the consent?",
    },
    "ung_withdraw_confirm_text": {
        "da": "{department} kan så ikke længere se forløbet og får ikke besked om møderne. Det, "
        "der allerede står i forløbet, bliver ikke slettet. Vil du give samtykke igen, så tal "
        "med sagsbehandleren.",
        "en": "{department} can then no longer see the course and is not told about the "
        "meetings. What is already written in the course is not deleted. To give consent "
        "again, talk to the caseworker.",
    },
    "ung_withdraw_confirm_button": {"da": "Ja, træk det tilbage", "en": "Yes, withdraw it"},
    "ung_withdraw_cancel": {"da": "Nej, gå tilbage", "en": "No, go back"},
    # The access log in words (workflow.web.privacy_pages.access_log_rows)
    "log_what_task": {"da": "en opgave", "en": "a task"},
    "log_times": {
        "da": "{count} gange, til {until}",
        "en": "{count} times, until {until}",
    },
    # Reads folded into one line within the same minute: no "until" the same time again.
    "log_times_within": {"da": "{count} gange", "en": "{count} times"},
    "log_collapsed_note": {
        "da": "Gentagne opslag af den samme person i sagen inden for {minutes} minutter med det "
        "samme formål vises som én linje med antallet. Hvert opslag er logget; kommunen kan "
        "udlevere den fulde log.",
        "en": "Repeated reads of the case by the same person within {minutes} minutes for the "
        "same purpose are shown as one line with their number. Every read is logged; the "
        "municipality can hand out the full log.",
    },
    "role_system": {"da": "Systemet (automatisk)", "en": "The system (automatic)"},
    "role_user": {"da": "En medarbejder", "en": "A member of staff"},
    "role_citizen": {"da": "Borgeren selv", "en": "The citizen"},
    "role_other": {"da": "En anden", "en": "Someone else"},
    "purpose_casework": {"da": "Sagsbehandling", "en": "Casework"},
    "purpose_consent_given": {"da": "Samtykke registreret", "en": "Consent recorded"},
    "purpose_consent_withdrawn": {
        "da": "Samtykke trukket tilbage",
        "en": "Consent withdrawn",
    },
    "purpose_export": {"da": "Udlevering af sagen", "en": "Handing out the case"},
    "purpose_access_log": {
        "da": "Log over opslag til borgeren",
        "en": "Access log for the citizen",
    },
    "purpose_own_page": {"da": "Den unges egen side", "en": "The young person's page"},
    "purpose_timer": {"da": "Frist: {name}", "en": "Deadline: {name}"},
    "cpr_reveal": {"da": "Vis hele CPR-nummeret", "en": "Show the whole CPR number"},
    "cpr_reveal_purpose": {"da": "Formål (logges)", "en": "Purpose (logged)"},
    "cpr_revealed": {
        "da": "CPR-nummer for {reference}. Visningen er logget.",
        "en": "CPR number of {reference}. This view is logged.",
    },
    "privacy_links": {"da": "Indsigt", "en": "Access"},
    "export_case": {"da": "Eksportér sagen (JSON)", "en": "Export the case (JSON)"},
    "access_log": {"da": "Log over opslag (til borgeren)", "en": "Access log (for the citizen)"},
    "access_log_text": {
        "da": "Hvornår og hvorfor oplysningerne i {reference} er brugt. Medarbejdernes navne er "
        "udeladt.",
        "en": "When and why the data of {reference} was used. Staff names are left out.",
    },
    "log_read": {"da": "Læst", "en": "Read"},
    "log_change": {"da": "Ændret", "en": "Changed"},
    "log_export": {"da": "Udleveret", "en": "Exported"},
    "log_delete": {"da": "Slettet", "en": "Deleted"},
    "log_search": {"da": "Søgning", "en": "Search"},
    # A refused attempt (no standing on the case): not a use of the data.
    "log_refused": {"da": "Forsøg afvist", "en": "Attempt refused"},
    "log_what_case": {"da": "sagen", "en": "the case"},
    "log_what_cpr": {"da": "CPR-nummer", "en": "CPR number"},
    "log_what_consent": {"da": "samtykke", "en": "consent"},
    "log_what_case_export": {"da": "hele sagen", "en": "the whole case"},
    "log_what_access_log": {"da": "denne log", "en": "this log"},
    "when_col": {"da": "Tidspunkt", "en": "When"},
    "action_col": {"da": "Handling", "en": "Action"},
    "role_col": {"da": "Rolle", "en": "Role"},
    "purpose_col": {"da": "Formål", "en": "Purpose"},
    "case_not_found_here": {
        "da": "Der er ingen sag her, som du har adgang til.",
        "en": "There is no case here that you have access to.",
    },
    "case_not_found": {
        "da": "Der er ingen sag {reference}, som du har adgang til.",
        "en": "There is no case {reference} you have access to.",
    },
    "step_not_available": {
        "da": "Skridtet kan ikke tages i sagens nuværende fase med din rolle.",
        "en": "This step cannot be taken in the case's current stage with your role.",
    },
    "conflict": {
        "da": "Sagen blev ændret af en anden samtidig. Genindlæs sagen og prøv igen.",
        "en": "Someone else changed the case at the same time. Reload it and try again.",
    },
    "store_unavailable": {
        "da": "Sagssystemets database svarer ikke lige nu. Intet er gemt halvt; prøv igen om lidt.",
        "en": "The case store is not answering right now. Nothing was half-saved; try again soon.",
    },
    "server_error": {
        "da": "Noget gik galt hos os. Intet er gemt halvt; prøv igen.",
        "en": "Something went wrong on our side. Nothing was half-saved; try again.",
    },
    "body_too_large": {
        "da": "Det sendte er for stort (højst {limit}). Intet er gemt.",
        "en": "What was sent is too large (at most {limit}). Nothing was saved.",
    },
    "forbidden": {
        "da": "Formularen kunne ikke bekræftes. Genindlæs siden og prøv igen.",
        "en": "The form could not be verified. Reload the page and try again.",
    },
    "error": {"da": "Fejl", "en": "Error"},
    "not_allowed": {
        "da": "Det har du ikke adgang til på denne sag. Spørg sagens sagsbehandler eller "
        "koordinator.",
        "en": "You may not do this on this case. Ask its caseworker or coordinator.",
    },
    "not_allowed_trigger": {
        "da": "Du kan se sagen {reference}, men ikke tage skridt på den. Spørg sagens "
        "sagsbehandler eller koordinator.",
        "en": "You may see case {reference}, but not take steps on it. Ask its caseworker "
        "or coordinator.",
    },
    "not_allowed_export": {
        "da": "Du kan se sagen {reference}, men ikke hente dens oplysninger ud eller se, hvem "
        "der har set den. Det kan sagens sagsbehandler og koordinator.",
        "en": "You may see case {reference}, but not export it or see who has looked at it. "
        "Its caseworker and coordinator can.",
    },
    "kind_leisure": {"da": "Fritid", "en": "Leisure"},
    "kind_education": {"da": "Uddannelse", "en": "Education"},
    "kind_work": {"da": "Arbejde", "en": "Work"},
    "kind_mentor": {"da": "Mentor", "en": "Mentor"},
    "kind_family": {"da": "Familie", "en": "Family"},
    "kind_volunteer": {"da": "Frivilligt fællesskab", "en": "Volunteering"},
    "kind_other": {"da": "Andet", "en": "Other"},
    "milestones": {"da": "Milepæle", "en": "Milestones"},
    "last_review": {
        "da": "Sidste evaluering af den forrige plan",
        "en": "Last review of the previous plan",
    },
    "act_as": {
        "da": "Handl som",
        "en": "Act as",
    },
    "role_caseworker": {
        "da": "Sagsbehandler",
        "en": "Caseworker",
    },
    "role_coordinator": {
        "da": "Koordinator",
        "en": "Coordinator",
    },
    "role_team_member": {
        "da": "Teammedlem",
        "en": "Team member",
    },
    "role_young_person": {
        "da": "Den unge",
        "en": "Young person",
    },
    "role_guardian": {
        "da": "Forælder/værge",
        "en": "Parent/guardian",
    },
    "role_leader": {
        "da": "Leder (tilsyn)",
        "en": "Manager (oversight)",
    },
    "caseload_by_standing": {
        "da": "Mine sager efter rolle",
        "en": "My cases by role",
    },
    "standing_all": {
        "da": "Alle mine sager",
        "en": "All my cases",
    },
    "standing_caseworker": {
        "da": "Som sagsbehandler",
        "en": "As caseworker",
    },
    "standing_coordinator": {
        "da": "Som koordinator",
        "en": "As coordinator",
    },
    "standing_team_member": {
        "da": "I teamet",
        "en": "On the team",
    },
    "own_email": {
        "da": "Egen e-mail (til invitationer og planen)",
        "en": "Own e-mail (for invitations and the plan)",
    },
    "own_phone": {
        "da": "Eget mobilnummer (SMS)",
        "en": "Own mobile number (SMS)",
    },
    "guardian_email": {
        "da": "E-mail (til invitationer og breve)",
        "en": "E-mail (for invitations and letters)",
    },
    "guardian_phone": {
        "da": "Mobilnummer (SMS)",
        "en": "Mobile number (SMS)",
    },
    "guardian_details": {
        "da": "Forælder/værge (når den unge er under 18)",
        "en": "Parent/guardian (when the young person is under 18)",
    },
    "guardian_details_help": {
        "da": "Forælderen kan logge ind med MitID og følge forløbet og give samtykke.",
        "en": "The parent can log in with MitID, follow the course and give consent.",
    },
    "email_format": {
        "da": "skal være en e-mailadresse, fx navn@eksempel.dk",
        "en": "must be an e-mail address, e.g. name@example.dk",
    },
    "phone_format": {
        "da": "skal være et dansk mobilnummer: 8 cifre, det første 2-9 (evt. efter +45)",
        "en": "must be a Danish mobile number: 8 digits, the first 2-9 (after +45 if you like)",
    },
    # The young person's and guardian's own pages
    "ung_app": {
        "da": "Mit forløb",
        "en": "My course",
    },
    "ung_app_g": {"da": "Mit barns forløb", "en": "My child's course"},
    "ung_missing_heading": {
        "da": "Siden findes ikke",
        "en": "Page not found",
    },
    "ung_missing": {
        "da": "Vi kan ikke finde et forløb her, som du er med i. Har du fået et link, så log ind og prøv igen, eller kontakt din kommune.",
        "en": "We cannot find a course here that you take part in. If you got a link, log in and try again, or contact your municipality.",
    },
    "method_not_allowed": {
        "da": "Den adresse kan ikke åbnes som en side. Gå tilbage, og prøv igen.",
        "en": "That address cannot be opened as a page. Go back and try again.",
    },
    "ung_who_reads": {
        "da": "Det, du skriver og vælger her, kan din koordinator, din sagsbehandler og "
        "dit team læse på sagen, så de kan forberede sig.",
        "en": "What you write and choose here can be read on the case by your coordinator, "
        "your caseworker and your team, so they can prepare.",
    },
    "ung_who_reads_caseworker": {
        "da": "Det, du skriver og vælger her, kan din sagsbehandler og dit team læse på "
        "sagen, så de kan forberede sig.",
        "en": "What you write and choose here can be read on the case by your caseworker "
        "and your team, so they can prepare.",
    },
    "ung_no_course_heading": {
        "da": "Du har ikke et forløb her",
        "en": "You have no course here",
    },
    "ung_no_course": {
        "da": "Du er logget ind, men vi kan ikke finde et forløb i ungeindsatsen, som du er "
        "med i. En forælder kan følge sin unges forløb, indtil den unge fylder 18. Har du "
        "spørgsmål, så kontakt din kommune.",
        "en": "You are logged in, but we cannot find a course in the youth effort that you "
        "take part in. A parent can follow their young person's course until they turn 18. "
        "If you have questions, contact your municipality.",
    },
    "ung_expired": {
        "da": "Siden var for gammel. Gå tilbage, opdatér siden og prøv igen.",
        "en": "The page was too old. Go back, reload the page and try again.",
    },
    "ung_no_login": {
        "da": "Login med MitID er ikke sat op her endnu. Kontakt din kommune.",
        "en": "Login with MitID is not set up here yet. Contact your municipality.",
    },
    "ung_login_failed_heading": {
        "da": "Vi kunne ikke logge dig ind",
        "en": "We could not log you in",
    },
    "ung_login_failed": {
        "da": "Login blev ikke gennemført, eller det var for gammelt. Prøv at logge ind igen.",
        "en": "The login was not completed, or it was too old. Please log in again.",
    },
    "ung_come_back_failed": {
        "da": "Vi kunne ikke starte et nyt forløb her. Ring eller skriv til din sagsbehandler, så hjælper de dig.",
        "en": "We could not start a new course here. Call or write to your caseworker, and they will help you.",
    },
    "ung_who_user": {
        "da": "En medarbejder",
        "en": "A member of staff",
    },
    "ung_who_caseworker": {
        "da": "Din sagsbehandler",
        "en": "Your caseworker",
    },
    "ung_who_coordinator": {
        "da": "Din koordinator",
        "en": "Your coordinator",
    },
    "ung_who_team_member": {
        "da": "En fra dit team",
        "en": "Someone on your team",
    },
    "ung_who_leader": {
        "da": "En leder (tilsyn)",
        "en": "A manager (oversight)",
    },
    "ung_who_young_person": {
        "da": "Du selv",
        "en": "You",
    },
    "ung_who_guardian": {
        "da": "Din forælder/værge",
        "en": "Your parent/guardian",
    },
    "ung_who_system": {
        "da": "Systemet",
        "en": "The system",
    },
    "ung_who_citizen": {
        "da": "Du selv",
        "en": "You",
    },
    # A course a citizen's step ended (ending by wish), said with who ended it: the stage's
    # own name ("Afbrudt af den unge") is not true when a parent or the caseworker did.
    "ung_stage_stopped": {"da": "Stoppet", "en": "Ended"},
    # A paused course on the citizen's page (a meeting booked is not held meanwhile).
    "ung_paused": {"da": "Dit forløb er sat på pause", "en": "Your course is paused"},
    "ung_paused_g": {"da": "Forløbet er sat på pause", "en": "The course is paused"},
    "ung_paused_expected": {
        "da": "Forventes genoptaget {date}.",
        "en": "Expected to resume {date}.",
    },
    "ung_paused_passed": {
        "da": "Den dag er gået, og forløbet er stadig på pause.",
        "en": "That day has passed, and the course is still paused.",
    },
    "ung_meeting_on_hold": {
        "da": "Mødet holdes ikke, mens dit forløb er på pause. Bliver det flyttet eller "
        "aflyst, får du besked.",
        "en": "The meeting is not held while your course is paused. If it is moved or "
        "cancelled, you will be told.",
    },
    "ung_meeting_on_hold_g": {
        "da": "Mødet holdes ikke, mens forløbet er på pause.",
        "en": "The meeting is not held while the course is paused.",
    },
    "ung_purpose_ended": {"da": "Forløbet blev stoppet", "en": "The course was ended"},
    # The citizen's own purposes on their access log, in their words.
    # (the reader's own line; another citizen's, e.g. a parent's read on the young
    # person's log, with "_other").
    "ung_purpose_own_page": {"da": "Din egen side", "en": "Your own page"},
    "ung_purpose_own_page_other": {
        "da": "Egen adgang med MitID",
        "en": "Own access with MitID",
    },
    "ung_purpose_consent_part": {"da": "Dit ja til samtykke", "en": "Your yes to a consent"},
    "ung_purpose_consent_part_other": {"da": "Et ja til samtykke", "en": "A yes to a consent"},
    "ung_ended_by_self": {
        "da": "Du stoppede forløbet {date}",
        "en": "You ended the course on {date}",
    },
    "ung_ended_by": {
        "da": "{who} stoppede forløbet {date}",
        "en": "{who} ended the course on {date}",
    },
    "ung_who_self": {
        "da": "Du selv",
        "en": "You",
    },
    "ung_who_other": {
        "da": "En anden",
        "en": "Someone else",
    },
    "ung_did_read": {
        "da": "læste dit forløb",
        "en": "read your course",
    },
    "ung_did_change": {
        "da": "skrev i dit forløb",
        "en": "wrote in your course",
    },
    "ung_did_export": {
        "da": "hentede en kopi af dit forløb",
        "en": "took a copy of your course",
    },
    "ung_did_read_cpr": {"da": "så dit CPR-nummer", "en": "saw your CPR number"},
    "ung_did_access_log": {
        "da": "så oversigten over, hvem der har læst dit forløb",
        "en": "looked at the list of who has read your course",
    },
    "ung_did_refused": {
        "da": "prøvede at gøre noget i dit forløb og fik nej",
        "en": "tried to do something in your course and was refused",
    },
    "ung_did_search": {
        "da": "søgte dit forløb frem",
        "en": "searched for your course",
    },
    "ung_did_delete": {
        "da": "slettede data i dit forløb",
        "en": "deleted data in your course",
    },
    "ung_back_home": {
        "da": "Til forsiden",
        "en": "To the front page",
    },
    "ung_welcome": {
        "da": "Velkommen til dit forløb",
        "en": "Welcome to your course",
    },
    "ung_intro": {
        "da": "Her kan du se din plan, dit team og dit næste møde – og selv sige, hvad du vil tale om.",
        "en": "Here you can see your plan, your team and your next meeting – and say yourself what you want to talk about.",
    },
    "ung_login_mitid": {
        "da": "Log ind med MitID",
        "en": "Log in with MitID",
    },
    "ung_login_help": {
        "da": "Er du under 18, kan din forælder også logge ind og følge med.",
        "en": "If you are under 18, your parent can also log in and follow along.",
    },
    "ung_my_cases": {
        "da": "Mine forløb",
        "en": "My courses",
    },
    "ung_case_line": {
        "da": "{stage} · startet {opened} · sag {reference}",
        "en": "{stage} · started {opened} · case {reference}",
    },
    "ung_as_guardian": {
        "da": "som forælder",
        "en": "as parent",
    },
    "ung_my_course": {
        "da": "Mit forløb",
        "en": "My course",
    },
    # A guardian's list: whose course ("Emmas forløb", "Jonas' forløb").
    "ung_childs_course": {"da": "{owner} forløb", "en": "{owner} course"},
    "ung_my_cases_g": {"da": "Forløb, du følger", "en": "Courses you follow"},
    "ung_their_course": {
        "da": "Den unges forløb",
        "en": "The young person's course",
    },
    "ung_notice_saved": {
        "da": "Tak! Det er gemt, og din koordinator får besked.",
        "en": "Thank you! It is saved, and your coordinator is told.",
    },
    "ung_notice_saved_team": {
        "da": "Tak! Det er gemt, og dit team får besked.",
        "en": "Thank you! It is saved, and your team is told.",
    },
    "ung_notice_saved_caseworker": {
        "da": "Tak! Det er gemt, og din sagsbehandler får besked.",
        "en": "Thank you! It is saved, and your caseworker is told.",
    },
    "ung_notice_saved_quiet": {"da": "Tak! Det er gemt.", "en": "Thank you! It is saved."},
    "ung_notice_saved_no_coordinator": {
        "da": "Tak! Det er gemt, og din sagsbehandler får besked.",
        "en": "Thank you! It is saved, and your caseworker is told.",
    },
    "ung_notice_consent_given": {
        "da": "Dit samtykke er gemt. Afdelingerne må nu få oplysninger om forløbet.",
        "en": "Your consent is saved. The departments may now get information about the course.",
    },
    "ung_notice_consent_part": {
        "da": "Dit ja er gemt. Det gælder, når alle de nødvendige ja er givet.",
        "en": "Your yes is saved. It counts once every yes needed is given.",
    },
    "ung_notice_consent_withdrawn": {
        "da": "Samtykket er trukket tilbage. Afdelingen får ikke længere oplysninger om forløbet.",
        "en": "The consent is withdrawn. The department no longer gets information about the course.",
    },
    "ung_notice_not_open": {
        "da": "Det kan ikke gøres i forløbet lige nu. Her er, hvad du kan nu.",
        "en": "That cannot be done in the course right now. Here is what you can do now.",
    },
    "ung_notice_ended": {
        "da": "Dit forløb er stoppet, og kommunen har fået besked. Vil du have hjælp igen, "
        "kan du altid bede om det her på siden.",
        "en": "Your course has ended, and the municipality has been told. If you want help "
        "again, you can always ask for it here on this page.",
    },
    "ung_notice_ended_g": {
        "da": "Forløbet er stoppet, og kommunen har fået besked.",
        "en": "The course has ended, and the municipality has been told.",
    },
    "ung_notice_still_open": {
        "da": "Du har allerede bedt om hjælp igen: det er dette forløb. Kommunen har fået besked.",
        "en": "You have already asked for help again: this is that course. The municipality "
        "has been told.",
    },
    "ung_notice_come_back": {
        "da": "Din kommune har fået besked om, at du gerne vil have hjælp igen.",
        "en": "Your municipality has been told that you would like help again.",
    },
    "ung_next_meeting": {
        "da": "Mit næste møde",
        "en": "My next meeting",
    },
    "ung_place": {
        "da": "Sted",
        "en": "Place",
    },
    "ung_add_calendar": {
        "da": "Sæt i min kalender",
        "en": "Add to my calendar",
    },
    "ung_no_meeting": {
        "da": "Der er ikke aftalt et møde endnu.",
        "en": "No meeting has been booked yet.",
    },
    # After the course has ended: no meeting is coming, and the coordinator is no longer
    # the one to call.
    # A meeting whose time has passed, not yet written in by staff (to her and a parent).
    "ung_meeting_passed": {
        "da": "{title} {when} er overstået. Når det er skrevet ind, kan du se det her – og "
        "det næste møde, når det er aftalt.",
        "en": "{title} on {when} is over. Once it is written in, you can see it here – and "
        "the next meeting, once it is booked.",
    },
    "ung_no_meeting_ended": {
        "da": "Forløbet er afsluttet, så der kommer ikke flere møder.",
        "en": "The course has ended, so there are no more meetings.",
    },
    "ung_reach_ended": {
        "da": "Forløbet er afsluttet. Har du brug for hjælp igen, kan du altid bede om det "
        "med knappen Jeg vil gerne have hjælp igen nedenfor.",
        "en": "The course has ended. If you need help again, you can always ask for it with "
        "the button I would like help again below.",
    },
    "ung_reach_ended_g": {
        "da": "Forløbet er afsluttet. Har den unge brug for hjælp igen, kan den unge altid "
        "blive henvist igen – kontakt kommunen.",
        "en": "The course has ended. If the young person needs help again, they can always "
        "be referred again – contact the municipality.",
    },
    "ung_you_can": {
        "da": "Det kan du gøre nu",
        "en": "What you can do now",
    },
    "ung_the_plan": {
        "da": "Den unges plan",
        "en": "The young person's plan",
    },
    "ung_my_plan": {
        "da": "Min plan",
        "en": "My plan",
    },
    "ung_status_open": {
        "da": "I gang",
        "en": "Under way",
    },
    "ung_status_met": {
        "da": "Nået",
        "en": "Achieved",
    },
    "ung_status_partly": {
        "da": "Delvist nået",
        "en": "Partly achieved",
    },
    "ung_status_not_met": {
        "da": "Ikke nået endnu",
        "en": "Not achieved yet",
    },
    # The same two once the course has ended: nothing is "under way" or "not yet" then.
    # A team member whose department's consent was taken back, in "Mit team".
    # Said without naming who took it back: a parent's withdrawal was told to the young
    # person as her own ("da du trak dit samtykke tilbage").
    "ung_member_withdrawn": {
        "da": "ikke længere med: samtykket til afdelingen er trukket tilbage",
        "en": "no longer taking part: the consent for the department was withdrawn",
    },
    # A team member whose department no consent covers yet.
    "ung_member_waiting": {
        "da": "får ikke oplysninger om dig endnu: samtykket mangler (se Mit samtykke)",
        "en": "gets no information about you yet: the consent is missing (see My consent)",
    },
    "ung_member_waiting_g": {
        "da": "får ikke oplysninger, før samtykket er givet (se nedenfor)",
        "en": "gets no information until the consent is given (see below)",
    },
    "ung_member_withdrawn_g": {
        "da": "ikke længere med, da samtykket blev trukket tilbage",
        "en": "no longer taking part: the consent was withdrawn",
    },
    # The handover's networks, on the young person's page.
    "ung_networks": {"da": "Mine netværk", "en": "My networks"},
    "ung_networks_g": {"da": "Den unges netværk", "en": "The young person's networks"},
    "ung_networks_intro": {
        "da": "De fællesskaber og steder, du fortsætter i, når forløbet slutter:",
        "en": "The communities and places you go on with when the course ends:",
    },
    "ung_networks_intro_g": {
        "da": "De fællesskaber og steder, den unge fortsætter i, når forløbet slutter:",
        "en": "The communities and places the young person goes on with when the course ends:",
    },
    "ung_status_open_ended": {
        "da": "Blev ikke vurderet, før forløbet sluttede",
        "en": "Not reviewed before the course ended",
    },
    "ung_status_not_met_ended": {
        "da": "Ikke nået",
        "en": "Not achieved",
    },
    "ung_goal_department_left": {
        "da": "{department} er ikke længere med i forløbet",
        "en": "{department} no longer takes part in the course",
    },
    "ung_helped_by": {
        "da": "hjælp fra",
        "en": "help from",
    },
    "ung_no_plan": {
        "da": "Planen skrives sammen med dig på det første møde.",
        "en": "The plan is written together with you at the first meeting.",
    },
    "ung_my_words": {
        "da": "Det har jeg skrevet",
        "en": "What I have written",
    },
    "ung_my_topics": {
        "da": "Det vil jeg tale om",
        "en": "What I want to talk about",
    },
    "ung_my_feedback": {
        "da": "Min feedback",
        "en": "My feedback",
    },
    "ung_the_team": {
        "da": "Den unges team",
        "en": "The young person's team",
    },
    "ung_my_team": {
        "da": "Mit team",
        "en": "My team",
    },
    "ung_coordinator": {
        "da": "Min koordinator",
        "en": "My coordinator",
    },
    "ung_caseworker": {
        "da": "Min sagsbehandler",
        "en": "My caseworker",
    },
    "ung_reach": {
        "da": "Du kan altid ringe eller skrive til din koordinator – kontaktoplysningerne står i dine breve fra kommunen.",
        "en": "You can always call or write to your coordinator – the contact details are in your letters from the municipality.",
    },
    "ung_reach_caseworker": {
        "da": "Indtil du har valgt din koordinator, kan du altid ringe eller skrive til din "
        "sagsbehandler – kontaktoplysningerne står i dine breve fra kommunen.",
        "en": "Until you have chosen your coordinator, you can always call or write to your "
        "caseworker – the contact details are in your letters from the municipality.",
    },
    "ung_reach_caseworker_g": {
        "da": "Indtil den unge har valgt sin koordinator, kan du ringe eller skrive til "
        "sagsbehandleren – kontaktoplysningerne står i brevene fra kommunen.",
        "en": "Until the young person has chosen their coordinator, you can call or write to "
        "the caseworker – the contact details are in the letters from the municipality.",
    },
    "ung_consent": {
        "da": "Mit samtykke",
        "en": "My consent",
    },
    # A department's consent withdrawn, to the young person: when and by whom.
    "ung_taken_back": {
        "da": "{department}: samtykket blev trukket tilbage {date} {who}",
        "en": "{department}: the consent was withdrawn on {date} {who}",
    },
    "ung_taken_back_heading": {"da": "Trukket tilbage", "en": "Withdrawn"},
    "ung_by_self": {"da": "af dig", "en": "by you"},
    "ung_by_guardian": {"da": "af din forælder/værge", "en": "by your parent/guardian"},
    "ung_by_caseworker": {"da": "af din sagsbehandler", "en": "by your caseworker"},
    "ung_by_coordinator": {"da": "af din koordinator", "en": "by your coordinator"},
    "ung_consent_intro": {
        "da": "Du har sagt ja til, at disse afdelinger må dele oplysninger om dit forløb. Du kan altid trække et ja tilbage.",
        "en": "You have said yes to these departments sharing information about your course. You can always take a yes back.",
    },
    # After the course has ended: what the yes still means (nothing new is shared, what
    # was shared is kept as the law requires), and that it can still be taken back.
    "ung_consent_intro_closed": {
        "da": "Dit forløb er afsluttet, så der deles ikke noget nyt. Du sagde ja til, at disse afdelinger måtte dele oplysninger om dit forløb – du kan stadig trække et ja tilbage.",
        "en": "Your course has ended, so nothing new is shared. You said yes to these departments sharing information about your course – you can still take a yes back.",
    },
    "ung_consent_intro_closed_g": {
        "da": "Forløbet er afsluttet, så der deles ikke noget nyt. Disse afdelinger måtte dele oplysninger om den unges forløb – du kan stadig trække et samtykke tilbage.",
        "en": "The course has ended, so nothing new is shared. These departments were allowed to share information about the young person's course – you can still withdraw a consent.",
    },
    "ung_withdraw_consent": {
        "da": "Træk tilbage",
        "en": "Withdraw",
    },
    "ung_no_consent": {
        "da": "Ingen afdelinger deler oplysninger om dit forløb lige nu.",
        "en": "No departments share information about your course right now.",
    },
    # The young person's and a parent's own yes (privacy.consents.give_part); "_g": to a
    # guardian.
    "ung_consent_asked": {
        "da": "Disse i dit team får ikke oplysninger om dit forløb, før du har sagt ja: {departments}.",
        "en": "These in your team get no information about your course until you say yes: {departments}.",
    },
    "ung_consent_asked_g": {
        "da": "Dit samtykke som forælder mangler, før disse afdelinger må få oplysninger om forløbet: {departments}.",
        "en": "Your consent as parent is needed before these departments may get information about the course: {departments}.",
    },
    "ung_consent_means": {
        "da": "Et ja betyder, at de må få de oplysninger om dit forløb, som de skal bruge for at hjælpe dig. Er du under {under}, skal din forælder også sige ja. Du kan altid trække et ja tilbage her.",
        "en": "A yes means they may get the information about your course that they need to help you. If you are under {under}, your parent must say yes too. You can always take a yes back here.",
    },
    "ung_consent_means_g": {
        "da": "Et ja betyder, at de må få de oplysninger om forløbet, som de skal bruge for at hjælpe. Den unge skal også selv sige ja. Et ja kan altid trækkes tilbage her.",
        "en": "A yes means they may get the information about the course that they need to help. The young person must say yes too. A yes can always be taken back here.",
    },
    "ung_parent_said_yes": {
        "da": "Din forælder har sagt ja til at dele med: {departments}. Det gælder først, når du også har sagt ja.",
        "en": "Your parent has said yes to sharing with: {departments}. It counts only once you have said yes too.",
    },
    "ung_consent_waiting": {
        "da": "Du har sagt ja til: {departments}. De får oplysninger, når din forælder også har sagt ja.",
        "en": "You have said yes to: {departments}. They get information once your parent has said yes too.",
    },
    "ung_consent_waiting_g": {
        "da": "Dit ja er gemt: {departments}. Afdelingen får oplysninger, når alle de nødvendige ja er givet.",
        "en": "Your yes is saved: {departments}. The department gets information once every yes needed is given.",
    },
    "ung_give_own_consent": {
        "da": "Giv mit samtykke",
        "en": "Give my consent",
    },
    "ung_give_parent_consent": {
        "da": "Giv mit samtykke som forælder",
        "en": "Give my consent as parent",
    },
    "ung_who_read": {
        "da": "Hvem har læst mit forløb – og hvorfor",
        "en": "Who has read my course – and why",
    },
    "ung_see_log": {
        "da": "Se hvem og hvorfor",
        "en": "See who and why",
    },
    "ung_come_back_heading": {
        "da": "Vil du have hjælp igen?",
        "en": "Would you like help again?",
    },
    "ung_come_back_intro": {
        "da": "Dit forløb er slut, men du kan altid komme tilbage. Så får din kommune besked og kontakter dig.",
        "en": "Your course has ended, but you can always come back. Your municipality is then told and contacts you.",
    },
    "ung_come_back": {
        "da": "Jeg vil gerne have hjælp igen",
        "en": "I would like help again",
    },
    "ung_write": {
        "da": "Skriv",
        "en": "Write",
    },
    "ung_back": {
        "da": "Tilbage",
        "en": "Back",
    },
    "ung_optional": {
        "da": "frivilligt",
        "en": "optional",
    },
    "ung_send": {
        "da": "Send",
        "en": "Send",
    },
    "ung_log_intro": {
        "da": "Her står, hver gang nogen har brugt oplysningerne i dit forløb, og hvorfor. Du ser deres rolle, ikke deres navn.",
        "en": "Every time someone used the information in your course, and why. You see their role, not their name.",
    },
    "ung_why": {
        "da": "Hvorfor",
        "en": "Why",
    },
    "ung_next_meeting_g": {
        "da": "Det næste møde",
        "en": "The next meeting",
    },
    "ung_consent_g": {
        "da": "Samtykke til deling",
        "en": "Consent to sharing",
    },
    "ung_coordinator_g": {
        "da": "Koordinator",
        "en": "Coordinator",
    },
    "ung_caseworker_g": {
        "da": "Sagsbehandler",
        "en": "Caseworker",
    },
    "ung_reach_g": {
        "da": "Du kan ringe eller skrive til koordinatoren – kontaktoplysningerne står i brevene fra kommunen.",
        "en": "You can call or write to the coordinator – the contact details are in the letters from the municipality.",
    },
    "ung_consent_intro_g": {
        "da": "Disse afdelinger må dele oplysninger om den unges forløb. Du kan trække et samtykke tilbage.",
        "en": "These departments may share information about the young person's course. You can withdraw a consent.",
    },
    "ung_no_consent_g": {
        "da": "Ingen afdelinger deler oplysninger om den unges forløb lige nu.",
        "en": "No departments share information about the young person's course right now.",
    },
    "ung_who_caseworker_g": {"da": "Sagsbehandleren", "en": "The caseworker"},
    "ung_who_coordinator_g": {"da": "Koordinatoren", "en": "The coordinator"},
    "ung_who_team_member_g": {"da": "En fra den unges team", "en": "Someone on the team"},
    "ung_who_young_person_g": {"da": "Den unge", "en": "The young person"},
    "ung_who_guardian_g": {"da": "En forælder/værge", "en": "A parent/guardian"},
    "ung_who_self_g": {"da": "Du", "en": "You"},
    "ung_who_citizen_g": {"da": "Den unge eller en forælder", "en": "The young person or a parent"},
    "ung_did_read_g": {"da": "læste forløbet", "en": "read the course"},
    "ung_did_change_g": {"da": "skrev i forløbet", "en": "wrote in the course"},
    "ung_did_export_g": {"da": "hentede en kopi af forløbet", "en": "took a copy of the course"},
    "ung_did_read_cpr_g": {
        "da": "så den unges CPR-nummer",
        "en": "saw the young person's CPR number",
    },
    "ung_did_access_log_g": {
        "da": "så oversigten over, hvem der har læst forløbet",
        "en": "looked at the list of who has read the course",
    },
    "ung_did_refused_g": {
        "da": "prøvede at gøre noget i forløbet og fik nej",
        "en": "tried to do something in the course and was refused",
    },
    "ung_did_search_g": {"da": "søgte forløbet frem", "en": "searched for the course"},
    "ung_did_delete_g": {"da": "slettede data i forløbet", "en": "deleted data in the course"},
    "ung_log_intro_g": {
        "da": "Her står, hver gang nogen har brugt oplysningerne i den unges forløb, og hvorfor. "
        "Du ser deres rolle, ikke deres navn.",
        "en": "Every time someone used the information in the young person's course, and why. "
        "You see their role, not their name.",
    },
    "ung_who_read_g": {
        "da": "Hvem har læst forløbet – og hvorfor",
        "en": "Who has read the course – and why",
    },
    "ung_no_meeting_g": {
        "da": "Der er ikke aftalt et møde endnu.",
        "en": "No meeting has been booked yet.",
    },
    "ung_no_plan_closed": {
        "da": "Forløbet sluttede, før der blev skrevet en plan.",
        "en": "The course ended before a plan was written.",
    },
    "ung_no_plan_closed_g": {
        "da": "Forløbet sluttede, før der blev skrevet en plan.",
        "en": "The course ended before a plan was written.",
    },
    "ung_no_plan_g": {
        "da": "Planen skrives sammen med den unge på det første møde.",
        "en": "The plan is written together with the young person at the first meeting.",
    },
    # What ending the course means, as it stands: who is told, and whether meetings are
    # cancelled ({told}, {cancelled} below).
    "ung_pause_explained": {
        "da": "Når du sætter dit forløb på pause, holdes der ingen møder, før det bliver "
        "genoptaget. Dem, der hjælper dig, får besked. Du kan selv genoptage det her, når "
        "du er klar.",
        "en": "When you pause your course, no meetings are held until it is resumed. Those "
        "who help you are told. You can resume it here yourself when you are ready.",
    },
    "ung_resume_explained": {
        "da": "Når du genoptager dit forløb, fortsætter det, hvor det slap, og dem, der "
        "hjælper dig, får besked.",
        "en": "When you resume your course, it goes on where it left off, and those who help "
        "you are told.",
    },
    "ung_withdraw_explained": {
        "da": "Når du stopper, afsluttes dit forløb, og {told} får besked.{cancelled} Du kan "
        "altid blive henvist igen senere.",
        "en": "When you end it, your course is closed and {told} is told.{cancelled} You can "
        "always be referred again later.",
    },
    "ung_withdraw_explained_g": {
        "da": "Når forløbet stoppes, afsluttes det, og {told} får besked.{cancelled} Den unge "
        "kan altid blive henvist igen senere.",
        "en": "When the course is ended, it is closed and {told} is told.{cancelled} The "
        "young person can always be referred again.",
    },
    "ung_withdraw_told_both": {
        "da": "din koordinator og din sagsbehandler",
        "en": "your coordinator and your caseworker",
    },
    "ung_withdraw_told_both_g": {
        "da": "koordinatoren og sagsbehandleren",
        "en": "the coordinator and the caseworker",
    },
    "ung_withdraw_told_caseworker": {"da": "din sagsbehandler", "en": "your caseworker"},
    "ung_withdraw_told_caseworker_g": {"da": "sagsbehandleren", "en": "the caseworker"},
    "ung_withdraw_cancelled": {
        "da": " Dine aftalte møder bliver aflyst.",
        "en": " Your booked meetings are cancelled.",
    },
    "ung_withdraw_cancelled_g": {
        "da": " De aftalte møder bliver aflyst.",
        "en": " The booked meetings are cancelled.",
    },
    "ung_withdraw_confirm": {"da": "Ja, stop mit forløb", "en": "Yes, end my course"},
    "ung_withdraw_confirm_g": {"da": "Ja, stop forløbet", "en": "Yes, end the course"},
    "ung_withdraw_keep": {"da": "Nej, fortsæt forløbet", "en": "No, keep the course"},
    "ung_step_withdraw": {
        "da": "Jeg vil stoppe forløbet",
        "en": "I want to end the course",
    },
    "ung_purpose_referral": {
        "da": "Henvisning",
        "en": "Referral",
    },
    # The engine: refusals
    "case_closed": {
        "da": "Sagen er afsluttet ({stage}) og tager ikke imod flere hændelser.",
        "en": "The case is closed ({stage}) and accepts no more events.",
    },
    "unknown_event": {
        "da": "Processen kender ikke hændelsen '{event}'.",
        "en": "The process has no event '{event}'.",
    },
    "wrong_stage": {
        "da": "'{event}' kan ikke ske i fasen '{stage}'; det kan ske i: {allowed}.",
        "en": "'{event}' cannot happen in stage '{stage}'; it can in: {allowed}.",
    },
    "role_not_allowed": {
        "da": "Rollen '{role}' må ikke udføre '{event}'; det må: {allowed}.",
        "en": "The role '{role}' may not trigger '{event}'; these may: {allowed}.",
    },
    "invalid_input": {
        "da": "Nogle felter mangler eller er udfyldt forkert: {fields}.",
        "en": "Some fields are missing or wrong: {fields}.",
    },
    "guard_false": {
        "da": "Betingelsen for '{event}' er ikke opfyldt.",
        "en": "The condition for '{event}' is not met.",
    },
    "guard_error": {
        "da": "Betingelsen for '{event}' kunne ikke afgøres: {detail}.",
        "en": "The condition for '{event}' could not be evaluated: {detail}.",
    },
    "timer_not_running": {
        "da": "Fristen '{timer}' kører ikke på sagen.",
        "en": "The timer '{timer}' is not running on this case.",
    },
    "timer_not_due": {
        "da": "Fristen '{timer}' udløber først {due}.",
        "en": "The timer '{timer}' is not due until {due}.",
    },
    "separation_of_duties": {
        "da": "'{event}' skal tages af en anden end den, der tog: {steps}.",
        "en": "'{event}' must be taken by someone other than who took: {steps}.",
    },
    "too_many_recipients": {
        "da": "Trinnet ville sende {count} beskeder; højst {max} pr. trin. Del holdet eller "
        "beskederne op.",
        "en": "The step would send {count} notifications; at most {max} per step. Split the "
        "team or the notifications.",
    },
    # The engine: field errors
    "required": {"da": "skal udfyldes", "en": "is required"},
    "required_choose": {"da": "vælg mindst én", "en": "choose at least one"},
    "not_qualified": {
        "da": "kan ikke vælges: kontoen har ikke rollen {role}",
        "en": "cannot be chosen: the account does not have the role {role}",
    },
    "unknown_field": {"da": "kendes ikke i dette trin", "en": "is not an input of this step"},
    "not_text": {"da": "skal være tekst", "en": "must be text"},
    "date_out_of_range": {
        "da": "skal ligge mellem år {first} og {last}",
        "en": "must be between the years {first} and {last}",
    },
    "not_a_person_id": {
        "da": "skal være en medarbejders id eller en mailadresse (ingen mellemrum, / eller ..)",
        "en": "must be a staff id or a mail address (no spaces, / or ..)",
    },
    # Staff ids checked against the account store (cases/staff.py), goals against the plan
    "not_staff": {
        "da": "'{value}' er ikke en medarbejder i kommunen (ingen aktiv konto med det id)",
        "en": "'{value}' is not a member of the municipality's staff (no active account)",
    },
    "purpose_consent_part": {
        "da": "Samtykke (den enes eget ja)",
        "en": "Consent (one person's own yes)",
    },
    "purpose_parent_consent": {"da": "Forældresamtykke", "en": "Parental consent"},
    "purpose_task_done": {"da": "Opgave løst", "en": "Task done"},
    "purpose_task_added": {"da": "Opgave tilføjet", "en": "Task added"},
    "purpose_bulk_intake": {
        "da": "Henvisning (samlet indlæsning)",
        "en": "Referral (bulk intake)",
    },
    "purpose_come_back": {
        "da": "Den unge henvendte sig selv igen",
        "en": "The young person came back",
    },
    "purpose_definition_migration": {
        "da": "Forløbet flyttet til en ny version af modellen",
        "en": "The course moved to a new version of the model",
    },
    "purpose_conference": {"da": "Sagskonference", "en": "Case conference"},
    "purpose_referred_again": {
        "da": "Den unge er henvist igen",
        "en": "The young person was referred again",
    },
    # A task given to the caseworker of a course already open (cases/referred_again.py).
    "referred_again_task": {
        # A title, as a definition's task titles: no full stop (notices add their own).
        "da": "Den unge er henvist igen: {reference} (sagsbehandler: {caseworker}) – aftal med "
        "sagsbehandleren, hvilket forløb der fortsætter",
        "en": "The young person was referred again: {reference} (caseworker: {caseworker}) – "
        "agree with the caseworker which course goes on",
    },
    "not_staff_meant": {
        "da": "'{value}' er ikke en medarbejders id; mente du {meant}?",
        "en": "'{value}' is not a staff id; did you mean {meant}?",
    },
    "staff_elsewhere": {
        "da": "'{value}' er medarbejder i en anden kommune og kan ikke sættes på sagen",
        "en": "'{value}' is staff of another municipality and cannot be put on the case",
    },
    "not_a_staff_id": {
        "da": "skal være en medarbejders id, ikke en mailadresse ('{value}')",
        "en": "must be a staff id, not a mail address ('{value}')",
    },
    "goals_not_reviewed": {
        "da": "planen har {count} mål, og hvert skal vurderes; mål {goals} mangler",
        "en": "the plan has {count} goals, and each is to be reviewed; goal {goals} is missing",
    },
    "goal_not_in_plan": {
        "da": "planen har {goals} mål; der findes intet mål {goal}",
        "en": "the plan has {goals} goals; there is no goal {goal}",
    },
    "too_long": {"da": "må højst være {max} tegn", "en": "must be at most {max} characters"},
    # The characters refused are invisible (control characters, direction marks...): a
    # code alone ("U+202E") told nobody what to do.
    "bad_character": {
        "da": "indeholder et usynligt tegn, der ikke kan bruges (måske fra kopieret tekst: "
        "{char}); skriv teksten igen uden at kopiere den",
        "en": "contains an invisible character that cannot be used (perhaps from copied text: "
        "{char}); type the text again without copying it",
    },
    "not_integer": {"da": "skal være et helt tal", "en": "must be a whole number"},
    "not_number": {"da": "skal være et tal", "en": "must be a number"},
    "too_small": {"da": "skal være mindst {min}", "en": "must be at least {min}"},
    "too_large": {"da": "må højst være {max}", "en": "must be at most {max}"},
    "not_boolean": {"da": "skal være ja eller nej", "en": "must be yes or no"},
    "not_date": {"da": "skal være en dato (ÅÅÅÅ-MM-DD)", "en": "must be a date (YYYY-MM-DD)"},
    "not_datetime": {
        "da": "skal være dato og klokkeslæt (ÅÅÅÅ-MM-DDTTT:MM)",
        "en": "must be a date and time (YYYY-MM-DDTHH:MM)",
    },
    "not_a_choice": {
        "da": "'{value}' er ikke et af valgene: {choices}",
        "en": "'{value}' is not one of: {choices}",
    },
    "not_a_list": {"da": "skal være en liste", "en": "must be a list"},
    "too_few": {"da": "skal have mindst {min}", "en": "needs at least {min}"},
    "too_many": {"da": "må højst have {max}", "en": "may have at most {max}"},
    "duplicate": {"da": "'{value}' står der to gange", "en": "'{value}' is given twice"},
    "date_too_early": {
        "da": "må tidligst være {day}",
        "en": "may be {day} at the earliest",
    },
    "date_too_late": {
        "da": "må senest være {day}",
        "en": "may be {day} at the latest",
    },
    "goal_deadline_passed": {
        "da": "mål {item}: fristen er passeret; et mål i planen har en frist fra i dag "
        "({day}) og frem",
        "en": "goal {item}: the deadline has passed; a goal of the plan has a deadline from "
        "today ({day}) on",
    },
    "goal_department_not_consented": {
        "da": "mål {item}: afdelingen er ikke i den unges team, og den unges samtykke dækker "
        "den ikke (eller er trukket tilbage); vælg en afdeling fra teamet eller ingen, eller "
        "registrér samtykke til den først (kortet Samtykke)",
        "en": "goal {item}: the department is not on the young person's team, and their "
        "consent does not cover it (or was taken back); choose a department of the team or "
        "none, or record consent for it first (the Consent card)",
    },
    "item_field_required": {
        "da": "{row} {item}: {field} skal udfyldes",
        "en": "{row} {item}: {field} is required",
    },
    # The parts of a list's items, as item_field_required names them.
    "item_field_department": {"da": "afdelingen", "en": "the department"},
    "item_field_person": {"da": "personen", "en": "the person"},
    "item_field_text": {"da": "teksten", "en": "the text"},
    "item_field_goal": {"da": "målet", "en": "the goal"},
    "item_field_status": {"da": "status", "en": "the status"},
    "item_field_name": {"da": "navnet", "en": "the name"},
    "item_field_kind": {"da": "slags", "en": "the kind"},
    # A field error found in one entry of a list (texts.field_text).
    "in_list_item": {"da": "{row} {item}: {error}", "en": "{row} {item}: {error}"},
    # What an error calls a list's entry: a plan's goal as its form does ("Mål 2").
    "entry_row": {"da": "række", "en": "row"},
    "entry_goal": {"da": "mål", "en": "goal"},
    "item_not_a_map": {
        "da": "{row} {item} er ikke udfyldt rigtigt",
        "en": "{row} {item} is not filled in correctly",
    },
    "goal_not_first_person": {
        "da": "mål {item} er ikke skrevet i jeg-form; skriv det, som den unge siger det: 'Jeg "
        "skal ...'",
        "en": "goal {item} is not in first person; write it as the young person says it: 'I "
        "will ...'",
    },
    # The engine: a case's meetings (refusals and field errors)
    "no_meeting": {
        "da": "Der er ikke booket noget møde ({kind}), som skridtet kan ændre.",
        "en": "There is no booked meeting ({kind}) for this step to change.",
    },
    "meeting_not_yet": {
        "da": "Mødet begynder {starts}; det kan først registreres som holdt fra {from}.",
        "en": "The meeting starts {starts}; it can be recorded as held from {from}.",
    },
    "meeting_weekday": {
        "da": "mødet skal ligge på en af de faste mødedage ({days})",
        "en": "the meeting must be on one of the fixed meeting days ({days})",
    },
    "and": {"da": "og", "en": "and"},
    "meeting_closed_day": {
        "da": "{day} er ikke en arbejdsdag (weekend eller helligdag)",
        "en": "{day} is not a business day (a weekend or public holiday)",
    },
    "meeting_too_early": {
        "da": "mødet kan tidligst begynde kl. {time}",
        "en": "the meeting cannot start before {time}",
    },
    "meeting_too_late": {
        "da": "mødet kan senest begynde kl. {time}",
        "en": "the meeting cannot start after {time}",
    },
    "meeting_not_moved": {
        "da": "mødet ligger allerede {starts} samme sted; vælg et andet tidspunkt eller sted",
        "en": "the meeting is already at {starts} in the same place; choose another time or place",
    },
    "meeting_before_held": {
        "da": "det næste møde skal ligge efter mødet, der holdes nu ({held})",
        "en": "the next meeting must be after the meeting being held ({held})",
    },
    "meeting_moved_to_past": {
        "da": "et møde kan kun flyttes frem til et tidspunkt, der ikke er passeret (nu er det "
        "{now})",
        "en": "a meeting can only be moved to a time that has not passed (it is now {now})",
    },
    "theme_not_own": {
        "da": "mål {item} handler ikke om et af den unges egne temaer ({themes})",
        "en": "goal {item} is not about one of the young person's own themes ({themes})",
    },
    "meeting_not_open": {
        "da": "mødet kan ikke ændres, det er {state}",
        "en": "the meeting cannot be changed: it is {state}",
    },
    "no_such_meeting": {
        "da": "sagen har intet møde nr. {value}",
        "en": "the case has no meeting number {value}",
    },
    "not_a_participant": {
        "da": "'{value}' er ikke inviteret til mødet",
        "en": "'{value}' is not invited to the meeting",
    },
    # Pages, mails and invitations: words around the definitions' own texts
    # Dates and times written for people (mails, invitations)
    "date_written": {
        "da": "{weekday} den {day}. {month} {year}",
        "en": "{weekday} {day} {month} {year}",
    },
    "date_at_time": {"da": "{day} kl. {time:%H.%M}", "en": "{day} at {time:%H:%M}"},
    "weekday_0": {"da": "mandag", "en": "Monday"},
    "weekday_1": {"da": "tirsdag", "en": "Tuesday"},
    "weekday_2": {"da": "onsdag", "en": "Wednesday"},
    "weekday_3": {"da": "torsdag", "en": "Thursday"},
    "weekday_4": {"da": "fredag", "en": "Friday"},
    "weekday_5": {"da": "lørdag", "en": "Saturday"},
    "weekday_6": {"da": "søndag", "en": "Sunday"},
    "month_1": {"da": "januar", "en": "January"},
    "month_2": {"da": "februar", "en": "February"},
    "month_3": {"da": "marts", "en": "March"},
    "month_4": {"da": "april", "en": "April"},
    "month_5": {"da": "maj", "en": "May"},
    "month_6": {"da": "juni", "en": "June"},
    "month_7": {"da": "juli", "en": "July"},
    "month_8": {"da": "august", "en": "August"},
    "month_9": {"da": "september", "en": "September"},
    "month_10": {"da": "oktober", "en": "October"},
    "month_11": {"da": "november", "en": "November"},
    "month_12": {"da": "december", "en": "December"},
    "login_sso": {
        "da": "Log ind gennem kommunens fælles log-in.",
        "en": "Log in through the municipality's single sign-on.",
    },
    "referral": {"da": "Henvisning", "en": "Referral"},
    "definition_migrated": {
        "da": "Flyttet til en ny version af forløbsbeskrivelsen",
        "en": "Moved to a new version of the process definition",
    },
    "at_most_characters": {"da": "højst {max} tegn", "en": "at most {max} characters"},
    "date_format": {"da": "ÅÅÅÅ-MM-DD", "en": "YYYY-MM-DD"},
    "cpr_not_birth_date": {
        "da": "de første 6 cifre skal være fødselsdatoen (DDMMÅÅ)",
        "en": "the first 6 digits must be the birth date (DDMMYY)",
    },
    # `workflow intake`: a file with a refused row opens no case (cli/operations.py)
    "intake_file_refused": {
        "da": "Filen er afvist: {rows} række(r) kan ikke oprettes, og derfor er ingen af "
        "filens forløb oprettet. Ret rækkerne herunder, og kør filen igen:",
        "en": "The file is refused: {rows} row(s) cannot be opened, so none of the file's "
        "cases was opened. Fix the rows below and run the file again:",
    },
    "intake_row": {"da": "række {row}", "en": "row {row}"},
    "intake_not_utf8": {
        "da": "Fejl: {path} er ikke skrevet i UTF-8 (linje {line}): gem den i Excel som "
        '"CSV UTF-8 (kommasepareret)", og kør den igen. Intet er oprettet.',
        "en": "Error: {path} is not written in UTF-8 (line {line}): save it in Excel as "
        '"CSV UTF-8 (comma delimited)" and run it again. Nothing was opened.',
    },
    "intake_columns_missing": {
        "da": "Fejl: {path} mangler kolonne(r): {missing} (filens første linje har: {named}). "
        "Første linje skal navngive kolonnerne, fx {columns},caseworker; gem filen fra Excel "
        "som CSV med komma eller semikolon. Intet er oprettet.",
        "en": "Error: {path} lacks the column(s) {missing} (the file's first line has: {named}). "
        "The first line must name the columns, e.g. {columns},caseworker; save the file from "
        "Excel as CSV with commas or semicolons. Nothing was opened.",
    },
    "intake_progress": {"da": "Henvisninger", "en": "Referrals"},
    "intake_opened": {"da": "oprettet", "en": "opened"},
    "intake_already_opened": {"da": "allerede oprettet", "en": "already opened"},
    "intake_refused_rows": {"da": "afvist", "en": "refused"},
    "intake_not_opened_rows": {"da": "ikke oprettet", "en": "not opened"},
    "intake_unknown_definition": {
        "da": "'{value}' er ikke et forløb her (se kolonnen definition)",
        "en": "'{value}' is not a process here (see the definition column)",
    },
    "intake_key_reused": {
        "da": "nøglen er brugt til en anden henvisning; giv rækken en ny nøgle",
        "en": "the key was used for another referral; give the row a new key",
    },
    "intake_not_opened": {
        "da": "kunne ikke oprettes ({error}); prøv igen om lidt",
        "en": "could not be opened ({error}); try again in a moment",
    },
    # CPR numbers checked with python-stdnum (cases/referral_checks.py: every way in)
    "cpr_format": {
        "da": "skal være et CPR-nummer: 10 cifre, fx 010110-4321",
        "en": "must be a CPR number: 10 digits, e.g. 010110-4321",
    },
    "cpr_no_such_date": {
        "da": "er ikke et gyldigt CPR-nummer: de første 6 cifre er ikke en dato, der findes",
        "en": "is not a valid CPR number: the first 6 digits are not a date that exists",
    },
    "cpr_not_born_yet": {
        "da": "er ikke et gyldigt CPR-nummer: fødselsdatoen ligger i fremtiden",
        "en": "is not a valid CPR number: its birth date lies in the future",
    },
    "cpr_century": {
        "da": "7. ciffer angiver et andet århundrede end fødselsdatoen "
        "(fx er 010110-1234 født i 1910, 010110-4321 i 2010)",
        "en": "the 7th digit gives another century than the birth date "
        "(e.g. 010110-1234 is born in 1910, 010110-4321 in 2010)",
    },
    "age_outside_inputs": {
        "da": "giver alderen {age} år, og henvisningen tager imod unge fra {min} til {max} år",
        "en": "gives the age {age}, and the referral takes young people aged {min} to {max}",
    },
    "staff_not_caseworker": {
        "da": "'{value}' er ikke sagsbehandler og kan ikke være ansvarlig sagsbehandler; "
        "vælg en sagsbehandler",
        "en": "'{value}' is not a caseworker and cannot be the responsible caseworker; "
        "choose a caseworker",
    },
    "staff_other_department": {
        "da": "'{value}' hører til {theirs}; vælg den afdeling (samtykket, der giver adgang "
        "til sagen, gælder afdelingen)",
        "en": "'{value}' belongs to {theirs}; choose that department (the consent that "
        "gives access to the case is the department's)",
    },
    "birth_date_not_past": {
        "da": "skal være en fødselsdato mellem år 1900 og i dag",
        "en": "must be a birth date between the year 1900 and today",
    },
    "collaboration_meeting": {"da": "Samarbejdsmøde", "en": "Collaboration meeting"},
    "meeting_summary": {"da": "{title} – sag {reference}", "en": "{title} – case {reference}"},
    # The pooled budget: a grant the pool cannot cover (a field error beside the amount)
    "pool_exceeded": {
        "da": "puljen har kun {balance} kr. tilbage og kan ikke dække {amount} kr.",
        "en": "the pool has only DKK {balance} left and cannot cover DKK {amount}",
    },
    # Case conferences: the sessions and the big-screen agenda
    "conferences_nav": {"da": "Sagskonferencer", "en": "Case conferences"},
    "conference_none": {
        "da": "Din kommune holder ikke tværfaglige sagskonferencer her.",
        "en": "Your municipality does not hold case conferences here.",
    },
    "conference_not_found": {
        "da": "Sagskonferencen findes ikke.",
        "en": "There is no such case conference.",
    },
    "conference_when": {
        "da": "{weekday} {day} kl. {time}",
        "en": "{weekday} {day} at {time}",
    },
    "conference_rhythm": {
        "da": "Hver {every}. dag om {weekday}en kl. {time}: {min}–{max} sager, "
        "{minutes} minutter pr. sag.",
        "en": "Every {every} days on {weekday}s at {time}: {min}–{max} cases, "
        "{minutes} minutes each.",
    },
    "conference_plan_next": {
        "da": "Planlæg næste sagskonference",
        "en": "Plan the next case conference",
    },
    "conference_planned_notice": {
        "da": "Den næste sagskonference er planlagt.",
        "en": "The next case conference is planned.",
    },
    "conference_sessions": {"da": "Sagskonferencer", "en": "Case conferences"},
    "conference_no_sessions": {
        "da": "Der er ikke planlagt nogen sagskonferencer endnu.",
        "en": "No case conferences are planned yet.",
    },
    "conference_state_planned": {"da": "Planlagt", "en": "Planned"},
    "conference_state_held": {"da": "Holdt", "en": "Held"},
    "conference_count": {
        "da": "{cases} af højst {max} sager",
        "en": "{cases} of at most {max} cases",
    },
    "conference_needs": {"da": "(mindst {min} sager)", "en": "(at least {min} cases)"},
    "conference_open_screen": {
        "da": "Åbn dagsordenen på storskærm",
        "en": "Open the agenda on the big screen",
    },
    "conference_put_forward_label": {
        "da": "Sæt en sag på dagsordenen (sagsnummer)",
        "en": "Put a case on the agenda (case reference)",
    },
    "conference_put_forward": {"da": "Sæt på dagsordenen", "en": "Put on the agenda"},
    "conference_put_forward_help": {
        "da": "Du kan sætte de åbne sager på, som du er sagsbehandler eller koordinator på.",
        "en": "You can put forward the open cases you are the caseworker or coordinator of.",
    },
    "conference_added_notice": {
        "da": "Sag {reference} er sat på dagsordenen.",
        "en": "Case {reference} is on the agenda.",
    },
    "conference_reference_missing": {
        "da": "Skriv sagsnummeret, fx HOR-2026-0001.",
        "en": "Write the case reference, e.g. HOR-2026-0001.",
    },
    "conference_full": {
        "da": "Dagsordenen har allerede {cases} sager (højst {max}, {minutes} minutter pr. "
        "sag). Sæt sagen på den næste sagskonference.",
        "en": "The agenda has {cases} cases already (at most {max}, {minutes} minutes "
        "each). Put the case forward for the next case conference.",
    },
    "conference_already_on": {
        "da": "Sag {reference} står allerede på dagsordenen.",
        "en": "Case {reference} is already on the agenda.",
    },
    "conference_case_closed": {
        "da": "Sag {reference} er afsluttet; kun åbne sager kan komme på.",
        "en": "Case {reference} is closed; only open cases can be put forward.",
    },
    "conference_case_not_found": {
        "da": "Der er ingen sag {reference}, som du kan se.",
        "en": "There is no case {reference} that you can see.",
    },
    "conference_not_your_case": {
        "da": "Du kan ikke sætte sag {reference} på: kun sagens egne folk kan det.",
        "en": "You cannot put case {reference} forward: only the case's own people can.",
    },
    "conference_back": {"da": "Alle sagskonferencer", "en": "All case conferences"},
    "conference_progress": {
        "da": "{done} af {total} sager er behandlet",
        "en": "{done} of {total} cases are done",
    },
    "conference_empty": {
        "da": "Der er ingen sager på dagsordenen endnu (der skal helst være mindst {min}).",
        "en": "There are no cases on the agenda yet (there should be at least {min}).",
    },
    "conference_agenda": {"da": "Dagsorden", "en": "Agenda"},
    "conference_item_done": {"da": "Behandlet", "en": "Done"},
    "conference_item_waiting": {"da": "Venter", "en": "Waiting"},
    "conference_case_of": {"da": "Sag {position} af {total}", "en": "Case {position} of {total}"},
    "conference_slot": {"da": "Tidspunkt", "en": "Time"},
    "conference_put_forward_by": {"da": "Sat på af {who}", "en": "Put forward by {who}"},
    "conference_next_action": {"da": "Næste konkrete skridt", "en": "Next concrete step"},
    "conference_last_time": {
        "da": "Fra sidste sagskonference",
        "en": "From the last case conference",
    },
    "conference_record": {"da": "Gem og gå til næste sag", "en": "Save and go to the next case"},
    "conference_recorded_notice": {
        "da": "Sag {reference} er behandlet. Næste skridt er nu sagsbehandlerens opgave.",
        "en": "Case {reference} is done. The next step is now the caseworker's task.",
    },
    "conference_task_given": {
        "da": "Næste skridt står som opgave under sagsbehandlerens »Mine opgaver«.",
        "en": "The next step is a task under the caseworker's “My tasks”.",
    },
    "conference_next_case": {"da": "Næste sag: {reference}", "en": "Next case: {reference}"},
    "conference_all_done": {
        "da": "Alle sager er behandlet",
        "en": "Every case is done",
    },
    "conference_all_done_help": {
        "da": "Hver sagsbehandler har fået sit næste konkrete skridt som opgave.",
        "en": "Every caseworker has their next concrete step as a task.",
    },
    "conference_case_not_on_agenda": {
        "da": "Sag {reference} står ikke på denne sagskonferences dagsorden.",
        "en": "Case {reference} is not on this case conference's agenda.",
    },
    "conference_not_begun": {
        "da": "Sagskonferencen begynder {day}. Sagerne kan først registreres, når den er begyndt.",
        "en": "The case conference begins {day}. Its cases can be recorded once it has begun.",
    },
    "conference_record_not_allowed": {
        "da": "Du kan ikke registrere sagskonferencen for sag {reference}: du har ingen rolle "
        "på sagen, der må det. Intet er gemt.",
        "en": "You cannot record the case conference for case {reference}: you have no role "
        "on the case that may. Nothing is saved.",
    },
    # The pooled budget's page
    "pool_nav": {"da": "Puljen", "en": "The pool"},
    "pool_none": {
        "da": "Din kommune har ingen fælles pulje her.",
        "en": "Your municipality has no pooled budget here.",
    },
    "pool_not_allowed": {
        "da": "Puljen føres af kommunens programleder (en lederkonto i kommunen).",
        "en": "The pool is kept by the municipality's programme manager (a leader account).",
    },
    "pool_intro": {
        "da": "Afdelingerne indbetaler; bevillinger på sagerne trækkes herfra.",
        "en": "The departments pay in; grants on the cases are drawn from it.",
    },
    "pool_balance": {"da": "Saldo", "en": "Balance"},
    "pool_deposited": {"da": "Indbetalt i alt", "en": "Paid in"},
    "pool_granted": {"da": "Bevilget i alt", "en": "Granted"},
    "pool_as_of": {"da": "Opgjort", "en": "As of"},
    "pool_ledger": {"da": "Posteringer", "en": "Ledger"},
    "pool_no_entries": {
        "da": "Der er ingen posteringer endnu.",
        "en": "There are no entries yet.",
    },
    "pool_date": {"da": "Dato", "en": "Date"},
    "pool_entry": {"da": "Postering", "en": "Entry"},
    "pool_from_or_to": {"da": "Afdeling eller sag", "en": "Department or case"},
    "pool_amount": {"da": "Beløb", "en": "Amount"},
    "pool_balance_after": {"da": "Saldo efter", "en": "Balance after"},
    "pool_recorded_by": {"da": "Bogført af", "en": "Recorded by"},
    "pool_kind_deposit": {"da": "Indbetaling", "en": "Deposit"},
    "pool_kind_grant": {"da": "Bevilling", "en": "Grant"},
    "pool_deposit": {"da": "Indbetaling fra en afdeling", "en": "A department pays in"},
    "pool_deposit_refused": {
        "da": "Indbetalingen er ikke bogført – ret feltet nedenfor.",
        "en": "The deposit is not recorded – correct the field below.",
    },
    "pool_department": {"da": "Afdeling", "en": "Department"},
    "pool_department_help": {
        "da": "Den afdeling, der betaler ind af sit budget.",
        "en": "The department that pays in from its budget.",
    },
    "pool_amount_kroner": {"da": "Beløb i kroner", "en": "Amount in DKK"},
    "pool_amount_help": {
        "da": "Hele kroner, fx 25000 eller 25.000.",
        "en": "Whole kroner, e.g. 25000.",
    },
    "pool_deposit_button": {"da": "Bogfør indbetalingen", "en": "Record the deposit"},
    "pool_deposited_notice": {
        "da": "Indbetalingen er bogført: {amount} fra {department}.",
        "en": "The deposit is recorded: {amount} from {department}.",
    },
    "pool_problem_department": {
        "da": "Vælg en af kommunens afdelinger.",
        "en": "Choose one of the municipality's departments.",
    },
    "pool_problem_amount": {
        "da": "Skriv et helt antal kroner fra 1 til {max} kr.",
        "en": "Write a whole number of kroner from 1 to DKK {max}.",
    },
    "ung_my_course_facts": {"da": "Mit forløb i tal", "en": "My course in figures"},
    # The outcome pages (leaders) and the national comparison
    "outcomes_nav": {"da": "Resultater", "en": "Outcomes"},
    "outcomes_national_nav": {"da": "Landstal", "en": "National figures"},
    "outcomes_title": {"da": "Resultater – {municipality}", "en": "Outcomes – {municipality}"},
    "outcomes_lead": {
        "da": "Hvad samarbejdsmodellen opnår, talt over alle unge i kommunen: ingen navne, "
        "ingen sagsnumre. Tal fra færre end {min} unge vises som «< {min}».",
        "en": "What the collaboration model achieves, counted over every young person in the "
        "municipality: no names, no case numbers. Figures from fewer than {min} young people "
        "are shown as '< {min}'.",
    },
    "outcomes_year": {"da": "År", "en": "Year"},
    "outcomes_show": {"da": "Vis", "en": "Show"},
    "outcomes_csv": {"da": "Hent som CSV", "en": "Download as CSV"},
    "outcomes_figure": {"da": "Tal", "en": "Figure"},
    "outcomes_value": {"da": "Værdi", "en": "Value"},
    "outcomes_month": {"da": "Måned", "en": "Month"},
    # A hidden cell as shown: of people, in a column of days or shares too.
    "outcomes_hidden_cell": {"da": "< {min} unge", "en": "< {min} young people"},
    "outcomes_hidden": {
        "da": "Skjult: færre end {min} unge",
        "en": "Hidden: fewer than {min} young people",
    },
    "outcomes_total": {"da": "I alt", "en": "Total"},
    "outcomes_none": {
        "da": "Der er ingen kommune at vise resultater for.",
        "en": "There is no municipality to show outcomes for.",
    },
    "outcomes_not_allowed": {
        "da": "Resultaterne er for kommunens ledere (en lederkonto i kommunen).",
        "en": "The outcome figures are for the municipality's leaders (a leader account).",
    },
    "outcomes_national_not_allowed": {
        "da": "Landstallene er for ledere og nationale analytikere.",
        "en": "The national figures are for leaders and national analysts.",
    },
    "outcomes_open_h": {"da": "Åbne forløb nu, efter fase", "en": "Open cases now, by stage"},
    "outcomes_open_explain": {
        "da": "Unge med et åbent forløb i dag, efter den fase forløbet er i.",
        "en": "Young people with an open case today, by the stage it is in.",
    },
    "outcomes_months_h": {"da": "Måned for måned i {year}", "en": "Month by month in {year}"},
    "outcomes_months_explain": {
        "da": "Henviste og afsluttede unge pr. måned, og åbne forløb ved månedens udgang.",
        "en": "Young people referred and cases ended each month, and open cases at month end.",
    },
    "outcomes_referred": {"da": "Henvist", "en": "Referred"},
    "outcomes_ended": {"da": "Afsluttet", "en": "Ended"},
    "outcomes_open_at_end": {"da": "Åbne ved månedens udgang", "en": "Open at month end"},
    "outcomes_to_pre_meeting_h": {
        "da": "Fra henvisning til formøde",
        "en": "From referral to the pre-meeting",
    },
    "outcomes_to_first_meeting_h": {
        "da": "Fra henvisning til første samarbejdsmøde",
        "en": "From referral to the first collaboration meeting",
    },
    "outcomes_time_explain": {
        "da": "Dage for de unge, der blev henvist i året. Fristerne på vejen: {deadlines}.",
        "en": "Days, for the young people referred in the year. The deadlines on the way: "
        "{deadlines}.",
    },
    "outcomes_median_days": {"da": "Median (dage)", "en": "Median (days)"},
    "outcomes_p90_days": {"da": "90 % var der inden (dage)", "en": "90th percentile (days)"},
    "outcomes_within_deadlines": {
        "da": "Nået inden for fristerne",
        "en": "Reached within the deadlines",
    },
    "outcomes_waiting": {
        "da": "Venter stadig (henvist i året)",
        "en": "Still waiting (referred in the year)",
    },
    "outcomes_goals_h": {"da": "Mål nået pr. møde", "en": "Goals met by meeting"},
    "outcomes_goals_explain": {
        "da": "Andel af målene i den forrige plan, der var nået, da de blev evalueret på "
        "mødet (møder holdt i året).",
        "en": "Share of the previous plan's goals that were met when reviewed at the meeting "
        "(meetings held in the year).",
    },
    "outcomes_pre_meeting": {"da": "Formøde", "en": "Pre-meeting"},
    "outcomes_meeting_n": {"da": "{n}. møde", "en": "Meeting {n}"},
    "outcomes_progression_h": {"da": "Progression", "en": "Progression"},
    "outcomes_progression_explain": {
        "da": "Unge henvist i året med mindst to vurderinger: første og seneste niveau på "
        "progressionsskalaen, aftalt med den unge på møderne.",
        "en": "Young people referred in the year with two assessments or more: their first "
        "and latest level on the progression scale, agreed with them at the meetings.",
    },
    "outcomes_moved_up": {"da": "Rykket op", "en": "Moved up"},
    "outcomes_moved_same": {"da": "Samme niveau", "en": "Same level"},
    "outcomes_moved_down": {"da": "Rykket ned", "en": "Moved down"},
    "outcomes_first_level": {"da": "Første niveau", "en": "First level"},
    "outcomes_latest_level": {"da": "Seneste niveau", "en": "Latest level"},
    "outcomes_endings_h": {"da": "Sådan sluttede forløbene", "en": "How the cases ended"},
    "outcomes_endings_explain": {
        "da": "Forløb afsluttet i året: status ved afslutning, eller hvordan forløbet ellers "
        "sluttede.",
        "en": "Cases ended in the year: the status at closing, or how the case ended otherwise.",
    },
    "outcomes_deadlines_h": {
        "da": "Overskredne frister i året",
        "en": "Deadlines missed in the year",
    },
    "outcomes_deadlines_explain": {
        "da": "Unge, for hvem en af definitionens frister udløb i året.",
        "en": "Young people for whom one of the definition's deadlines fell due in the year.",
    },
    "outcomes_overdue_h": {"da": "Overskredet nu", "en": "Overdue now"},
    "outcomes_overdue_explain": {
        "da": "Åbne forløb, hvor fristen i den fase, de er i, er udløbet.",
        "en": "Open cases whose current stage's deadline has fallen due.",
    },
    "outcomes_nothing": {"da": "Ingen tal endnu.", "en": "No figures yet."},
    "outcomes_national_title": {
        "da": "Landstal – kommunerne side om side",
        "en": "National figures – the municipalities side by side",
    },
    "outcomes_national_lead": {
        "da": "Nøgletal for hver kommune i {year} og for hele landet. Ingen celle beregnes af "
        "færre end {min} unge; hvor én skjult celle kunne regnes ud fra landstallet, skjules "
        "den mindste anden celle i kolonnen også.",
        "en": "Key figures of every municipality in {year} and of the country. No cell is "
        "computed from fewer than {min} young people; where one hidden cell could be worked "
        "out from the country's figure, the smallest other cell of the column is hidden too.",
    },
    "outcomes_counted_at": {
        "da": "Talt {when}; landstallene tælles igen efter højst {minutes} minutter.",
        "en": "Counted {when}; the national figures are counted again after {minutes} "
        "minutes at most.",
    },
    "outcomes_municipality": {"da": "Kommune", "en": "Municipality"},
    "outcomes_country": {"da": "Hele landet", "en": "The country"},
    "outcomes_col_open": {"da": "Åbne forløb", "en": "Open cases"},
    "outcomes_col_referred": {"da": "Henvist i året", "en": "Referred in the year"},
    "outcomes_col_days_to_pre_meeting": {
        "da": "Dage til formøde (median)",
        "en": "Days to pre-meeting (median)",
    },
    "outcomes_col_days_to_first_meeting": {
        "da": "Dage til første møde (median)",
        "en": "Days to first meeting (median)",
    },
    "outcomes_col_within_deadlines": {
        "da": "Første møde inden for fristerne",
        "en": "First meeting within deadlines",
    },
    "outcomes_col_goals_met_meeting_2": {
        "da": "Mål nået på 2. møde",
        "en": "Goals met at meeting 2",
    },
    "outcomes_col_goals_met": {"da": "Mål nået (alle møder)", "en": "Goals met (all meetings)"},
    "outcomes_col_moved_up": {"da": "Rykket op", "en": "Moved up"},
    "outcomes_col_education_or_work": {
        "da": "I uddannelse eller job ved afslutning",
        "en": "In education or work at closing",
    },
    "outcomes_col_withdrawn": {"da": "Afbrudt af den unge", "en": "Withdrawn"},
    "outcomes_my_progress_h": {
        "da": "Progression møde for møde",
        "en": "Progress meeting by meeting",
    },
    "outcomes_level": {"da": "Niveau", "en": "Level"},
    "outcomes_goals_met_of": {
        "da": "{met} af {reviewed} mål nået",
        "en": "{met} of {reviewed} goals met",
    },
    "outcomes_goals_met_share": {"da": "Mål nået", "en": "Goals met"},
    "outcomes_held": {"da": "Holdt", "en": "Held"},
    "outcomes_meeting": {"da": "Møde", "en": "Meeting"},
    "months_short": {
        "da": "jan,feb,mar,apr,maj,jun,jul,aug,sep,okt,nov,dec",
        "en": "Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec",
    },
    "unit_minutes": {"da": "minutter", "en": "minutes"},
    "unit_hours": {"da": "timer", "en": "hours"},
    "unit_days": {"da": "dage", "en": "days"},
    "unit_weeks": {"da": "uger", "en": "weeks"},
    "unit_months": {"da": "måneder", "en": "months"},
    "unit_business_days": {"da": "hverdage", "en": "business days"},
}


def field_text(code: str, locale: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """A field error's text: one found in an entry of a list (``item``: its number) names
    the entry first ("række 3: ...", as the form labels its rows) unless its own words name it."""
    if code == "required" and params.get("choose"):  # a group of choices: choose
        code = "required_choose"
    if "item" in params:
        params = {"row": text("entry_goal" if params.get("goal") else "entry_row", locale)} | params
    shown = text(code, locale, **params)
    texts = TEXTS.get(code)
    template = (texts.get(locale) or texts[DEFAULT_LANGUAGE]) if texts else ""
    if "item" in params and "{item}" not in template:
        return text("in_list_item", locale, row=params["row"], item=params["item"], error=shown)
    return shown


def text(key: str, locale: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The text of ``key`` in ``locale`` (Danish when missing) with its parameters filled in.

    An unknown key is shown as itself, and a text whose parameters are missing is shown
    unfilled, so a wrong key never breaks a page or a refusal.
    """
    texts = TEXTS.get(key)
    if texts is None:
        return key
    template = texts.get(locale) or texts[DEFAULT_LANGUAGE]
    if not params:
        return template
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template
