#include "engine/lessons/lessonset.h"

namespace engine::lessons {

std::vector<const Lesson*> teachingOrder()
{
    return {
        &prefillVsDecodeLesson(),
        &tooSmallToSplitLesson(),
        &oneRequestPerThreadLesson(),
        &oversubscriptionLesson(),
        &loadImbalanceLesson(),
        &amdahlLesson(),
        &memoryWallLesson(),
    };
}

} // namespace engine::lessons
