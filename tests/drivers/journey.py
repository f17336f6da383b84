"""Reusable walks through the journey, for tests that need a person at a given step."""

from __future__ import annotations

from tests.drivers.chat import Person

PRE = [2, 3, 2, 1, 4, 3, 2, 2, 1]
POST = [3, 3, 3, 3, 4, 3, 3, 2, 2]


async def onboard(person: Person, name: str = "สมชาย ใจดี") -> None:
    await person.follow()
    await person.tap(1)  # accept
    await person.say(name)
    await person.tap(1)  # demo agency
    await person.tap(1)  # first unit
    await person.tap("g:g3")
    await person.tap("t:0730")


STEP1_SCREENS = 5  # steps, dimensions, skills 1-7, skills 8-9, why it matters


async def read_step1(person: Person) -> None:
    """Tap "next" through the step 1 reading screens, up to the reason question."""
    for _ in range(STEP1_SCREENS):
        await person.tap("next")


async def give_reason(person: Person) -> None:
    await person.say("ช่วยให้บริการประชาชนได้ดีขึ้น")


async def step1(person: Person) -> None:
    """Step 1 in any round: the reading when it is shown (a later round skips it), then a reason."""
    if "next" in [c.id for c in person.question.choices]:
        await read_step1(person)
    await give_reason(person)


async def first_step1(person: Person) -> None:
    """Step 1 of a first round, for drivers that cannot see the question (a platform's user)."""
    await read_step1(person)
    await give_reason(person)


async def step2(person: Person, levels: list[int] = PRE) -> None:
    await person.tap("start")
    for level in levels:
        await person.tap(f"lv:{level}")
    await person.tap("next")


async def step3_goals(person: Person) -> None:
    """Step 3 up to the if-then plan: word and media, each learnt on the job."""
    await person.tap("k:word")
    await person.tap("k:media")
    await person.tap("done")
    for _ in range(2):
        await person.tap(2)  # target: second option
        await person.tap("d:3m")
        await person.tap("a:onthejob")


async def step3(person: Person) -> None:
    await step3_goals(person)
    await person.say("เมื่อเปิดคอมพิวเตอร์ตอนเช้า ฉันจะฝึกจัดหน้าเอกสาร 15 นาที")


async def step4(person: Person) -> None:
    await person.tap("log")
    await person.tap("k:word")
    await person.say("ฝึกใช้สไตล์หัวเรื่องใน Word")
    await person.tap("o:30")
    await person.say("สร้างสารบัญอัตโนมัติได้")
    await person.tap("next")


async def step5(person: Person) -> None:
    await person.tap("log")
    await person.tap("k:word")
    await person.say("หนังสือเวียนประจำเดือน")
    await person.say("Microsoft Word")
    await person.tap("o:faster")
    await person.tap("next")


async def step6(person: Person, levels: list[int] = POST) -> None:
    await person.tap("start")
    for level in levels:
        await person.tap(f"lv:{level}")
    await person.tap("next")
    await person.say("ฝึกทีละนิดทุกวันได้ผลกว่าที่คิด")
    await person.say("ใช้สไตล์หัวเรื่อง แล้วสารบัญจะทำตัวเอง")


async def whole_journey(person: Person) -> None:
    await onboard(person)
    for walk in (first_step1, step2, step3, step4, step5, step6):
        await walk(person)
