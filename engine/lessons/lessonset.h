// The lessons themselves, one accessor per lesson (each defined in its own file), and the teaching order.
#pragma once

#include "engine/lessons/lesson.h"

#include <vector>

namespace engine::lessons {

const Lesson& prefillVsDecodeLesson(); // prefillvsdecode.cpp
const Lesson& tooSmallToSplitLesson(); // toosmalltosplit.cpp
const Lesson& oneRequestPerThreadLesson(); // onerequestperthread.cpp
const Lesson& oversubscriptionLesson(); // oversubscription.cpp
const Lesson& loadImbalanceLesson(); // loadimbalance.cpp
const Lesson& amdahlLesson(); // amdahl.cpp
const Lesson& memoryWallLesson(); // memorywall.cpp

// Every lesson, in the order a class meets them.
std::vector<const Lesson*> teachingOrder();

} // namespace engine::lessons
